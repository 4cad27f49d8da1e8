"""The client the platforms use: divert an incident, act on it, read its status, search the list.

Actions are routed to the workflow that owns the step: review and negotiation to the incident,
police steps to its PoliceLoop, 12345 steps to its HotlineLoop. A refused action raises
ActionRefused with the workflow's own reason; nothing has changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from linkage import actions as act
from linkage.action_specs import ACTIONS
from linkage.config import Settings, format_validation_error
from linkage.contract import from_edge
from linkage.models import (
    STAGE_LABELS,
    IncidentReport,
    Role,
    Stage,
    TimelineEntry,
    check_report_window,
    incident_id_for,
)
from linkage.queues import IncidentListing, list_incidents
from linkage.store import Store
from linkage.temporal import (
    CATEGORY,
    INCIDENT,
    KIND,
    ORIGIN,
    OVERDUE,
    STAGE,
    TOWNSHIP,
    UNITS,
    connect,
)
from linkage.units import (
    COMMAND_KINDS,
    DISPATCH_KINDS,
    EMERGENCY_KINDS,
    ORIGIN_KINDS,
    Register,
    UnknownUnit,
    load_register,
)
from workflows.contracts import (
    INCIDENT_WORKFLOW,
    IncidentInput,
    IncidentState,
    IncidentSummary,
    Submission,
    SubmitAnswer,
    loop_workflow_id,
)
from workflows.loop_contracts import (
    EmergencyState,
    HotlineLoopState,
    HotlineStep,
    PoliceLoopState,
    PoliceStep,
    WhistleState,
)


class LinkageError(Exception):
    """An error a person can act on; the message says what and why."""


class ActionRefused(LinkageError):
    """The workflow refused the action (wrong step, wrong party); nothing changed."""


class UnknownIncident(LinkageError):
    """No incident has that ID."""


class NoAnswer(LinkageError):
    """No worker answered in time (none polls, or it is overloaded): the action was not
    refused, and may still be applied; send it again with the same request ID."""


def answer_within() -> timedelta:
    """How long a caller waits for a workflow's answer (LINKAGE_ANSWER_SECONDS, default 15)."""
    try:
        return timedelta(seconds=max(1.0, float(os.environ.get("LINKAGE_ANSWER_SECONDS", 15))))
    except ValueError:
        return timedelta(seconds=15)


def parse_report(data: Any, register: Register | None = None) -> IncidentReport:
    """Validate a report as it arrives; a bad one raises LinkageError naming each field and its
    problem. Unknown fields are refused, and so is a received_at in the future or long past."""
    try:
        report = from_edge(IncidentReport, data)
    except ValidationError as err:
        raise LinkageError(format_validation_error("report", err)) from None
    try:
        check_report_window(report, datetime.now(UTC))
    except ValueError as err:
        raise LinkageError(f"report: {err}") from None
    return _with_origin_code(report, register or load_register())


def _with_origin_code(report: IncidentReport, register: Register) -> IncidentReport:
    """The report with the unit that pushes it as the register's code."""
    try:
        unit = register.resolve(
            report.originating_unit, ORIGIN_KINDS[report.origin], "report: originating_unit"
        )
    except UnknownUnit as err:
        raise LinkageError(str(err)) from None
    return report.model_copy(update={"originating_unit": unit.code})
    return report


class DivertResult(SubmitAnswer):
    """Where a report landed, as the platform that pushed it sees it."""


class IncidentStatus(BaseModel):
    incident_id: str
    running: bool
    stage: Stage
    incident: IncidentState | None = None
    police: PoliceLoopState | None = None
    hotline: HotlineLoopState | None = None
    whistles: list[WhistleState] = []
    emergencies: list[EmergencyState] = []
    summary: IncidentSummary | None = None

    def timeline(self) -> list[TimelineEntry]:
        if self.summary is not None:
            return self.summary.timeline
        entries = list(self.incident.timeline if self.incident else [])
        for loop in (self.police, self.hotline, *self.whistles, *self.emergencies):
            if loop is not None:
                entries += loop.timeline
        return sorted(entries, key=lambda e: e.at)


class LinkageClient:
    def __init__(
        self,
        client: Client,
        task_queue: str = "linkage",
        register: Register | None = None,
        store: Store | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self._register = register
        self._store = store

    @property
    def store(self) -> Store:
        """The records database (the work queues), opened when first needed."""
        if self._store is None:
            self._store = Store(Settings().database_url)
        return self._store

    @property
    def register(self) -> Register:
        """The register of units, read when first needed (and again when the file changes)."""
        return self._register or load_register()

    @classmethod
    async def connect(cls, settings: Settings | None = None) -> LinkageClient:
        settings = settings or Settings()
        try:
            client = await connect(settings)
        except RuntimeError as err:
            raise LinkageError(
                f"cannot reach Temporal at {settings.temporal_address}: is the system running? "
                f"({err})"
            ) from None
        return cls(client, settings.task_queue)

    # --- divert -------------------------------------------------------------------------------

    async def divert(
        self, report: IncidentReport | dict, request_id: str | None = None
    ) -> DivertResult:
        """Hand a report to its own incident (Update-with-Start on `origin-reference`): it opens
        there, or joins the open incident it repeats; the same push again is counted once."""
        if not isinstance(report, IncidentReport):
            report = parse_report(report, self.register)
        else:
            report = _with_origin_code(report, self.register)
        request_id = request_id or f"divert-{uuid.uuid4().hex}"  # one ID for every attempt
        for attempt in range(SEND_ATTEMPTS):
            try:
                answer = await self._submit(report, request_id)
            except WorkflowAlreadyStartedError:
                return await self._closed(report)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                return await self._queued(report)
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == "Resent":
                    return DivertResult.model_validate(cause.details[0])  # the re-send's answer
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise LinkageError(f"report {report.incident_id} refused: {message}") from None
            except RPCError as err:
                if not _transient(err) or attempt == SEND_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
                continue
            if answer.refused:
                raise LinkageError(f"report {report.incident_id} refused: {answer.refused}")
            return DivertResult(**answer.model_dump())
        raise AssertionError("unreachable")

    async def _submit(self, report: IncidentReport, request_id: str) -> SubmitAnswer:
        start = self._start(report)
        try:
            return await self.client.execute_update_with_start_workflow(
                "submit",
                Submission(report=report),
                id=request_id,
                start_workflow_operation=start,
                result_type=SubmitAnswer,
                rpc_timeout=answer_within(),
            )
        except Exception:
            # the start operation holds the same error: read here, it is not printed as
            # "Future exception was never retrieved" (with its traceback) when the loop ends
            with contextlib.suppress(Exception):
                await asyncio.wait_for(start.workflow_handle(), 1)
            raise

    def _start(self, report: IncidentReport) -> WithStartWorkflowOperation:
        """The incident's start, should the report be its first: no personal data in its
        search attributes or summary (those are never encrypted)."""
        receiver = report.origin.other
        where = f"{report.location.township} · {report.category or '待分类'}"
        return WithStartWorkflowOperation(
            INCIDENT_WORKFLOW,
            IncidentInput(report=report),
            id=report.incident_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # a run that failed (its report refused for its data) may be pushed again; an
            # incident that ended (closed, withdrawn, merged) never opens twice
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            task_queue=self.task_queue,
            result_type=IncidentSummary,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(INCIDENT, report.incident_id),
                    SearchAttributePair(KIND, "incident"),
                    SearchAttributePair(UNITS, [report.originating_unit]),
                    SearchAttributePair(ORIGIN, report.origin.value),
                    SearchAttributePair(TOWNSHIP, report.location.township),
                    SearchAttributePair(CATEGORY, report.category or "uncategorised"),
                    SearchAttributePair(OVERDUE, False),  # `LinkageOverdue = false` finds it
                ]
            ),
            static_summary=(
                f"{report.origin.label} → {receiver.label} · {where} · {report.reference}"
            ),
            static_details=(
                f"**紧急程度 urgency**: {report.urgency.value}\n\n"
                f"**推送单位 from**: {report.originating_unit}"
            ),
        )

    async def _queued(self, report: IncidentReport) -> DivertResult:
        """No worker answered in time; the report's incident was started all the same (a
        start is durable): it opens once a worker runs it. Said so, not left hanging."""
        try:
            await self._handle(report.incident_id).describe()
        except RPCError as err:
            raise NoAnswer(
                f"report {report.incident_id}: no answer in time and not started ({err}); "
                f"send it again"
            ) from None
        return DivertResult(incident_id=report.incident_id, new=False, queued=True)

    async def _closed(self, report: IncidentReport) -> DivertResult:
        """The incident of this reference has ended: nothing starts again. A report that had
        joined another incident answers with that one."""
        try:
            summary = await self._handle(report.incident_id).result()
        except Exception:  # failed or terminated
            summary = None
        if summary is not None and summary.merged_into:
            return DivertResult(
                incident_id=summary.merged_into, new=False, resent=True, matched_by="reference"
            )
        stage = summary.stage if summary is not None else None
        return DivertResult(incident_id=report.incident_id, new=False, closed=True, stage=stage)

    # --- status -------------------------------------------------------------------------------

    def _handle(self, incident_id: str) -> WorkflowHandle[Any, IncidentSummary]:
        """The incident's handle; its result is the summary."""
        return self.client.get_workflow_handle(incident_id, result_type=IncidentSummary)

    async def result(self, incident_id: str) -> IncidentSummary:
        """Wait for the incident to close and return its summary."""
        return await self._handle(incident_id).result()

    async def status(self, incident_id: str) -> IncidentStatus:
        handle = self._handle(incident_id)
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise UnknownIncident(f"no incident {incident_id}") from None
            raise
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

    def _named(self, state):
        """A state whose timeline notes show the register's full names, not its codes."""
        for entry in getattr(state, "timeline", None) or []:
            entry.note = self.humanize(entry.note)
        return state

    # --- actions ------------------------------------------------------------------------------

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
                if _transient(err) and attempt < LOOP_START_POLLS:
                    await asyncio.sleep(0.2)
                    continue
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                why = await self._why_missing(incident_id, loop, action)
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
        """Every unit the action names, as the register's code (the actor's with its name);
        a name that is no unit is refused here, with the nearest matches."""
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
        return model.model_copy(update=changes)

    def humanize(self, message: str) -> str:
        """A workflow's message with the register's codes (dept.cgj) shown as full names."""
        return self.register.humanize(message)

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

    async def _whistle_for(
        self, incident_id: str, action: str, unit: str, number: int | None
    ) -> str:
        status = await self.status(incident_id)
        whistles = status.incident.whistles if status.incident else []
        if number is not None:
            if not any(w.number == number for w in whistles):
                raise ActionRefused(
                    f"{action} refused: incident {incident_id} has no whistle #{number}"
                )
            return f"{incident_id}.whistle-{number}"
        open_ones = [w for w in whistles if not w.closed]
        if not open_ones:
            raise ActionRefused(f"{action} refused: incident {incident_id} has no open whistle")
        summoned = [w for w in open_ones if unit in w.units]
        return (summoned or open_ones)[-1].workflow_id

    async def _emergency_for(self, incident_id: str, action: str, actor) -> str:
        if actor.role is not Role.emergency_unit:
            raise ActionRefused(
                f"{action} refused: this action is for emergency_unit, not {actor.role.value}"
            )
        status = await self.status(incident_id)
        linked = status.incident.emergencies if status.incident else []
        open_ones = [e for e in linked if not e.closed]
        waiting = [e for e in open_ones if actor.unit in e.units]
        if not waiting:
            notified = sorted({self.register.name_of(u) for e in open_ones for u in e.units})
            raise ActionRefused(
                f"{action} refused: incident {incident_id} has no open emergency linkage that "
                f"notified {actor.unit_name or actor.unit} ({actor.unit})"
                + (f"; notified: {'、'.join(notified)}" if notified else "")
            )
        return waiting[-1].workflow_id

    async def whistle(self, incident_id: str, call: act.WhistleCall | dict) -> IncidentState:
        """Blow the whistle on an open incident: an update, answered with the state it led to
        (the whistle it started) or refused with the reason."""
        try:
            call = from_edge(act.WhistleCall, call, SET_BY_SYSTEM)
        except ValidationError as err:
            raise LinkageError(format_validation_error("whistle", err)) from None
        call = self._with_unit_codes("whistle", call)
        if not call.request_id:
            call = call.model_copy(update={"request_id": f"whistle-{uuid.uuid4().hex}"})
        try:
            state = await self._handle(incident_id).execute_update(
                "whistle",
                call,
                id=call.request_id,
                result_type=IncidentState,
                rpc_timeout=answer_within(),
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ActionRefused(f"whistle refused: {self.humanize(message)}") from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise NoAnswer(
                f"whistle: no answer from {incident_id} within "
                f"{answer_within().total_seconds():g} s (is a worker running?); it may still be "
                f"blown: send it again with request_id {call.request_id}"
            ) from None
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            status = await self.status(incident_id)  # unknown: raised there
            raise ActionRefused(
                f"whistle refused: incident {incident_id} is already "
                f"{STAGE_LABELS[status.stage]} ({status.stage.value})"
            ) from None
        return self._named(state)

    async def _why_missing(self, incident_id: str, loop: str, action: str) -> str | None:
        """Why the loop an action needs is not there; None while it is about to start."""
        try:
            status = await self.status(incident_id)
        except UnknownIncident:
            return f"{action} refused: no incident {incident_id}"
        stage = f"{STAGE_LABELS[status.stage]} ({status.stage.value})"
        if not status.running:
            return f"{action} refused: incident {incident_id} is already {stage}"
        state = status.incident
        assert state is not None
        if state.owner is not None and state.owner.value in (loop, "joint"):
            return None  # owner decided: the loop's workflow is being started
        return (
            f"{action} refused: incident {incident_id} has no {loop} loop running "
            f"(stage {stage}, owner {state.owner.value if state.owner else 'not decided'})"
        )

    # --- the list and the work queues ------------------------------------------------------

    async def list(self, **filters) -> list[IncidentListing]:
        """Incidents by stage, owner, township, category, safety, start time, overdue or
        whistle; or, with `unit`, what waits on that unit now (see linkage.queues)."""
        try:
            return await list_incidents(self, **filters)
        except ValueError as err:
            raise LinkageError(str(err)) from None


SEND_ATTEMPTS = 12  # a server that is briefly busy or restarting is waited for, with backoff
LOOP_START_POLLS = 25  # up to 5 seconds for a loop whose owner was just decided
# an action's fields no caller sends: the principal is the actor; names come from the register
SET_BY_SYSTEM = {"actor", "unit_name"}
CATCH_UP_POLLS = 60  # about 15 seconds for the incident to act on what a loop told it
TELLS_INCIDENT = {"push_to_bureau", "call_police", "return"}  # loop updates that signal up


def _transient(err: RPCError) -> bool:
    """Busy or briefly unavailable, or an update the server aborted (it was not applied)."""
    busy = err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)
    return busy or "aborted" in str(err)


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


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


__all__ = [
    "ACTIONS",
    "ActionRefused",
    "IncidentListing",
    "LinkageClient",
    "LinkageError",
    "incident_id_for",
]
