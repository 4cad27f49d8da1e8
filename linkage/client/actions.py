"""The parties' actions: each routed to the workflow that owns the step (review and
negotiation to the incident, police steps to its PoliceLoop, 12345 steps to its HotlineLoop, a
whistle's and an emergency linkage's to theirs), answered with the state it produced."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from linkage.client.base import transient
from linkage.client.errors import (
    ActionRefused,
    LinkageError,
    NoAnswer,
    UnknownIncident,
    answer_within,
)
from linkage.client.escalations import SET_BY_SYSTEM, Escalations
from linkage.client.status import check_incident_id
from linkage.domain import actions as act
from linkage.domain import edge_checks as edge
from linkage.domain.action_specs import ACTIONS
from linkage.domain.contract import from_edge
from linkage.domain.models import STAGE_LABELS, Role, Stage
from linkage.domain.search_attributes import STAGE
from linkage.domain.units import COMMAND_KINDS, DISPATCH_KINDS, EMERGENCY_KINDS, UnknownUnit
from linkage.settings.config import format_validation_error
from workflows.contracts import IncidentState, loop_workflow_id
from workflows.loop_contracts import (
    EmergencyState,
    HotlineLoopState,
    HotlineStep,
    PoliceLoopState,
    PoliceStep,
    WhistleState,
)

LOOP_START_POLLS = 25  # up to 5 seconds for a loop whose owner was just decided
CATCH_UP_POLLS = 60  # about 15 seconds for the incident to act on what a loop told it
TELLS_INCIDENT = {"push_to_bureau", "call_police", "return"}  # loop updates that signal up


class Actions(Escalations):
    async def act(
        self, incident_id: str, action: str, payload: dict[str, Any], whistle: int | None = None
    ) -> BaseModel:
        """Take a party's action; returns the workflow's new state or raises ActionRefused.

        Whistle actions go to whistle number `whistle`, or else to the newest open whistle that
        summoned the actor's unit (the newest open one when none did).
        """
        spec = ACTIONS.get(action)
        if spec is None:
            raise LinkageError(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}")
        check_incident_id(incident_id, action)
        try:
            model = from_edge(
                spec.model, {**payload, **spec.fixed}, SET_BY_SYSTEM | set(spec.fixed)
            )
        except ValidationError as err:
            raise LinkageError(format_validation_error(action, err)) from None
        model = self._with_unit_codes(action, model)
        loop = spec.loop
        if loop == "by_role":
            police_side = model.actor.role in (Role.police_unit, Role.police_bureau)
            loop = "police" if police_side else "hotline"
        if loop == "whistle":
            workflow_id = await self._whistle_for(incident_id, action, model.actor.unit, whistle)
        elif loop == "emergency":
            workflow_id = await self._emergency_for(incident_id, action, model.actor)
        elif loop == "incident":
            workflow_id = incident_id
        else:
            workflow_id = loop_workflow_id(incident_id, loop)
        if not model.request_id:  # one ID for every attempt, and to send it again by
            model = model.model_copy(update={"request_id": uuid.uuid4().hex})
        update_id = f"{spec.update}:{model.request_id}"
        handle = self.client.get_workflow_handle(workflow_id)
        for attempt in range(LOOP_START_POLLS + 1):
            try:
                state = await handle.execute_update(
                    spec.update,
                    model,
                    id=update_id,
                    result_type=_STATE[loop],
                    rpc_timeout=answer_within(),
                )
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                raise NoAnswer(
                    f"{action}: no answer from {workflow_id} within "
                    f"{answer_within().total_seconds():g} s (is a worker running?); it may still "
                    f"be applied: send it again with request_id {model.request_id}"
                ) from None
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise ActionRefused(f"{action} refused: {self.humanize(message)}") from None
            except RPCError as err:
                if transient(err) and attempt < LOOP_START_POLLS:
                    await asyncio.sleep(0.2)
                    continue
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                why = await self._why_missing(incident_id, loop, action)
                if why is NOT_FOUND_YET:  # the records hold it: Temporal's answer is passing
                    if attempt == LOOP_START_POLLS:
                        raise NoAnswer(
                            f"{action}: Temporal does not find {workflow_id} just now (after "
                            f"an outage of its database, a moment); it may still be applied: "
                            f"send it again with request_id {model.request_id}"
                        ) from None
                    await asyncio.sleep(0.2)
                    continue
                if why is not None or attempt == LOOP_START_POLLS:
                    raise ActionRefused(
                        why or f"{action} refused: incident {incident_id} has no {loop} loop"
                    ) from None
                await asyncio.sleep(0.2)  # the loop is starting: the incident entered handling
                continue
            if loop != "incident":
                await self._catch_up(incident_id, workflow_id, spec.update, state)
            return state
        raise AssertionError("unreachable")

    def _with_unit_codes(self, action: str, model):
        """Every unit the action names, as the register's code (the actor's with its name), and
        a subcategory as the catalogue's code; what the register lacks is refused here."""
        register = self.register
        try:
            actor = model.actor
            unit = register.resolve_for_role(actor.unit, actor.role)
            changes: dict[str, Any] = {
                "actor": actor.model_copy(update={"unit": unit.code, "unit_name": unit.name})
            }
            for kind, allowed in (
                (act.DispatchAction, DISPATCH_KINDS),
                (act.CommandAction, COMMAND_KINDS),
            ):
                if isinstance(model, kind):
                    named = register.resolve(model.unit, allowed, "--unit") if model.unit else None
                    changes["unit"] = named.code if named else ""
                    changes["unit_name"] = named.name if named else ""
            if isinstance(model, act.EmergencyLinkageAction):
                changes["units"] = list(
                    dict.fromkeys(
                        register.resolve(u, EMERGENCY_KINDS, "--units").code for u in model.units
                    )
                )
            if isinstance(model, act.WhistleCall):
                changes["units"] = list(
                    dict.fromkeys(register.resolve(u, None, "--units").code for u in model.units)
                )
        except UnknownUnit as err:
            raise LinkageError(f"{action}: {err}") from None
        if isinstance(model, act.TriageDecisionAction) and model.subcategory:
            try:  # the catalogue's code, of the side chosen
                changes["subcategory"] = edge.subcategory(model.subcategory, model.direction)
            except ValueError as err:
                raise LinkageError(f"{action}: subcategory: {err}") from None
        return model.model_copy(update=changes)

    async def _catch_up(self, incident_id: str, workflow_id: str, update: str, state) -> None:
        """A loop's action that ends the loop or tells the incident something: wait until the
        incident has acted on it, so the answer shows the stage the action led to. A closed
        loop is followed with describe alone (the server answers it from the incident's state,
        with its children and stage); what a loop told the incident, with its state query."""
        closed = _loop_closed(state)
        if not closed and update not in TELLS_INCIDENT:
            return
        handle = self._handle(incident_id)
        stage = None
        for attempt in range(CATCH_UP_POLLS):
            await asyncio.sleep(min(0.05 * 2**attempt, 0.25))
            try:
                description = await handle.describe()
                if description.status is not WorkflowExecutionStatus.RUNNING:
                    stage = (await handle.result()).stage
                    break
                if update not in TELLS_INCIDENT:
                    stage, done = _after_loop(description, workflow_id)
                    if done:
                        break
                    continue
                incident = await handle.query("state", result_type=IncidentState)
            except Exception:  # failed, terminated, or gone: the status says so
                break
            stage = incident.stage
            if incident.heard.get(workflow_id, 0) >= state.told_incident and incident.settled:
                break
        state.incident_stage = stage

    async def _why_missing(self, incident_id: str, loop: str, action: str) -> str | None:
        """Why the loop an action needs is not there; None while it is about to start."""
        try:
            status = await self.status(incident_id, patience=0)  # act's own loop asks again
        except UnknownIncident:  # Temporal and the records both say so
            return f"{action} refused: no incident {incident_id}"
        except NoAnswer:  # the records hold it (or cannot be asked): Temporal's answer passes
            return NOT_FOUND_YET
        stage = f"{STAGE_LABELS[status.stage]} ({status.stage.value})"
        if not status.running:
            return f"{action} refused: incident {incident_id} is already {stage}"
        if loop == "incident":  # found now: the update is asked again
            return NOT_FOUND_YET
        state = status.incident
        assert state is not None
        if state.owner is not None and state.owner.value in (loop, "joint"):
            return None  # owner decided: the loop's workflow is being started
        return (
            f"{action} refused: incident {incident_id} has no {loop} loop running "
            f"(stage {stage}, owner {state.owner.value if state.owner else 'not decided'})"
        )


NOT_FOUND_YET = "not found yet"  # an incident the records hold that Temporal did not find


def _after_loop(description, loop_id: str) -> tuple[Stage | None, bool]:
    """The incident's stage once it has taken a closed loop's result: moved on from handling,
    or still handling because another loop or escalation of it runs on."""
    raw = description.raw_description
    pending = {child.workflow_id for child in raw.pending_children}
    value = description.typed_search_attributes.get(STAGE)
    stage = Stage(value) if value in Stage.__members__ else None
    if loop_id in pending:
        return stage, False
    return stage, stage is not Stage.handling or bool(pending)


def _loop_closed(state: BaseModel) -> bool:
    if isinstance(state, PoliceLoopState):
        return state.step is PoliceStep.done
    if isinstance(state, HotlineLoopState):
        return state.step is HotlineStep.done
    if isinstance(state, WhistleState):
        return state.closed
    if isinstance(state, EmergencyState):
        return len(state.acknowledged) == len(state.units)
    return False


_STATE = {
    "incident": IncidentState,
    "police": PoliceLoopState,
    "hotline": HotlineLoopState,
    "whistle": WhistleState,
    "emergency": EmergencyState,
}
