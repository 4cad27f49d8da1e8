"""An incident's status: its own state and its loops' and escalations', queried at once; or,
once it has ended, its summary."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from linkage.client.base import ClientBase
from linkage.client.errors import LinkageError, NoAnswer, UnknownIncident, answer_within
from linkage.client.shapes import IncidentStatus as IncidentStatus
from linkage.domain.edge_checks import incident_id_problem
from linkage.domain.models import Stage
from linkage.records.tables import Incident
from workflows.contracts import INCIDENT_WORKFLOW, IncidentState, IncidentSummary
from workflows.loop_contracts import EmergencyState, HotlineLoopState, PoliceLoopState, WhistleState


def check_incident_id(incident_id: str, what: str) -> None:
    """Refuse what is no incident's ID (a loop's, a whistle's, anything else) before Temporal
    is asked: its workflow answers with another shape than an incident's."""
    problem = incident_id_problem(incident_id)
    if problem is not None:
        raise LinkageError(f"{what}: incident_id: {problem}")


NOT_FOUND_POLLS = 25  # up to 5 seconds for Temporal to find an incident the records hold
ENDED = {Stage.closed.value, Stage.withdrawn.value, Stage.merged.value}


class Status(ClientBase):
    async def result(self, incident_id: str) -> IncidentSummary:
        """Wait for the incident to close and return its summary."""
        check_incident_id(incident_id, "result")
        return await self._handle(incident_id).result()

    def _recorded(self, incident_id: str) -> bool:
        """The records database holds the incident open, or cannot be asked: only records
        that answer "no such incident" (or that it ended, and Temporal's retention has since
        removed its history) make Temporal's "not found" final. Both are often down together
        (one PostgreSQL), and an outage must make a caller wait (NoAnswer: ask again), never
        answer that an incident does not exist."""
        try:
            row = self.store.get(Incident, incident_id)
        except Exception:  # noqa: BLE001 - the records down too: nothing can be said yet
            return True
        return row is not None and row.stage not in ENDED

    async def _described(self, incident_id: str, handle, patience: int):
        """The incident's workflow described; a "not found" that the records contradict is
        asked again `patience` times, 0.2 s apart (Temporal just after an outage of its
        database), then answered NoAnswer."""
        for attempt in range(patience + 1):
            try:
                return await handle.describe()
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                if not await asyncio.to_thread(self._recorded, incident_id):
                    raise UnknownIncident(f"no incident {incident_id}") from None
                if attempt == patience:
                    raise NoAnswer(
                        f"Temporal does not find {incident_id} just now (after an outage of its "
                        "database, a moment): ask again"
                    ) from None
                await asyncio.sleep(0.2)
        raise AssertionError("unreachable")

    async def status(self, incident_id: str, patience: int = NOT_FOUND_POLLS) -> IncidentStatus:
        check_incident_id(incident_id, "status")
        handle = self._handle(incident_id)
        description = await self._described(incident_id, handle, patience)
        if description.workflow_type != INCIDENT_WORKFLOW:
            raise UnknownIncident(f"no incident {incident_id}: it is a {description.workflow_type}")
        if description.status is not WorkflowExecutionStatus.RUNNING:
            try:
                summary = await handle.result()
            except Exception as err:  # failed, terminated or cancelled: say so plainly
                raise LinkageError(
                    f"incident {incident_id} ended as {description.status.name}: {err}"
                ) from None
            return IncidentStatus(
                incident_id=incident_id,
                running=False,
                stage=summary.stage,
                summary=self._named(summary),
            )
        try:
            state: IncidentState = self._named(
                await handle.query("state", result_type=IncidentState, rpc_timeout=answer_within())
            )
        except RPCError as err:
            if err.status is RPCStatusCode.FAILED_PRECONDITION:  # its last task failed
                raise NoAnswer(
                    f"incident {incident_id} is waiting: its workflow cannot answer until its "
                    f"task runs again (a district file that does not validate, or a worker "
                    f"that cannot run it: see the worker's log); ask again later"
                ) from None
            if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise
            raise NoAnswer(
                f"incident {incident_id}: no worker answered within "
                f"{answer_within().total_seconds():g} s (is one running?); ask again later"
            ) from None
        police = hotline = None
        loops = []
        if state.police_workflow_id:
            loops.append(self._loop_state(state.police_workflow_id, PoliceLoopState))
        if state.hotline_workflow_id:
            loops.append(self._loop_state(state.hotline_workflow_id, HotlineLoopState))
        loops += [self._loop_state(b.workflow_id, WhistleState) for b in state.whistles]
        loops += [self._loop_state(b.workflow_id, EmergencyState) for b in state.emergencies]
        found = await asyncio.gather(*loops)  # the loops are queried at once, not in turn
        if state.police_workflow_id:
            police, found = found[0], found[1:]
        if state.hotline_workflow_id:
            hotline, found = found[0], found[1:]
        whistles = [w for w in found[: len(state.whistles)] if w is not None]
        emergencies = [e for e in found[len(state.whistles) :] if e is not None]
        return IncidentStatus(
            incident_id=incident_id,
            running=True,
            stage=state.stage,
            incident=state,
            police=police,
            hotline=hotline,
            whistles=whistles,
            emergencies=emergencies,
        )

    async def _loop_state(self, workflow_id: str, result_type: type[BaseModel]):
        try:
            handle = self.client.get_workflow_handle(workflow_id)
            within = answer_within()
            found = await handle.query("state", result_type=result_type, rpc_timeout=within)
            return self._named(found)
        except RPCError:
            return None
