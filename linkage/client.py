"""The client the platforms use: divert an incident, act on it, read its status, search the list.

Actions are routed to the workflow that owns the step: review and negotiation to the incident,
police steps to its PoliceLoop, 12345 steps to its HotlineLoop. A refused action raises
ActionRefused with the workflow's own reason; nothing has changed.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from linkage import actions as act
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
from linkage.temporal import (
    CATEGORY,
    INCIDENT,
    ORIGIN,
    OVERDUE,
    OWNER,
    REPORTS,
    STAGE,
    TOWNSHIP,
    WHISTLE,
    connect,
)
from workflows.emergency import EmergencyLinkage, EmergencyState
from workflows.hotline_loop import HotlineLoop, HotlineLoopState
from workflows.incident import (
    DivertedIncident,
    IncidentState,
    IncidentSummary,
    loop_workflow_id,
)
from workflows.intake import IntakeDecision, IntakeInput, ReportIntake, intake_id
from workflows.police_loop import PoliceLoop, PoliceLoopState
from workflows.whistle import Whistle, WhistleState


class LinkageError(Exception):
    """An error a person can act on; the message says what and why."""


class ActionRefused(LinkageError):
    """The workflow refused the action (wrong step, wrong party); nothing changed."""


class UnknownIncident(LinkageError):
    """No incident has that ID."""


def parse_report(data: Any) -> IncidentReport:
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
    return report


@dataclass(frozen=True)
class ActionSpec:
    """How a CLI action maps onto a workflow update."""

    loop: str  # incident | police | hotline | by_role (feedback: the actor's side decides)
    update: str
    model: type[act.Action]
    fixed: dict[str, Any] = field(default_factory=dict)
    help: str = ""


ACTIONS: dict[str, ActionSpec] = {
    "triage-decide": ActionSpec(
        "incident",
        "decide_triage",
        act.TriageDecisionAction,
        {},
        "linkage desk decides or overrides triage: --direction police|hotline|both "
        "[--subcategory CODE] --reason (分诊复核/改判)",
    ),
    "review": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a station's push (审核通过)",
    ),
    "send-back": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a push back with --reason (退回)",
    ),
    "resubmit": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": False},
        "push again with a revised --divert-reason (补正)",
    ),
    "withdraw": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": True},
        "withdraw a sent-back push; the origin keeps it (撤回)",
    ),
    "accept": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": True},
        "receiving side accepts the push (接收)",
    ),
    "dispute": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": False},
        "receiving side disputes with --reason (异议)",
    ),
    "settle": ActionSpec(
        "incident",
        "settle",
        act.SettleAction,
        {},
        "negotiation settled: --owner police|hotline|joint (协商)",
    ),
    "command": ActionSpec(
        "police", "command", act.CommandAction, {}, "110 commands --unit to the scene (指令)"
    ),
    "arrive": ActionSpec("police", "arrive", act.ArriveAction, {}, "police unit on the scene"),
    "dispatch": ActionSpec(
        "hotline",
        "dispatch",
        act.DispatchAction,
        {},
        "centre dispatches the order to --unit (派遣)",
    ),
    "sign": ActionSpec("hotline", "sign", act.SignAction, {}, "unit signs for the order (签收)"),
    "return": ActionSpec(
        "hotline", "return", act.ReturnAction, {}, "unit returns the order with --reason (退单)"
    ),
    "extend": ActionSpec(
        "hotline", "extend", act.ExtendAction, {}, "unit asks for --hours more with --reason (延期)"
    ),
    "approve-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": True},
        "centre approves the extension",
    ),
    "refuse-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": False},
        "centre refuses the extension",
    ),
    "feedback": ActionSpec(
        "by_role",
        "feedback",
        act.FeedbackAction,
        {},
        "handling unit reports --result (反馈); police or 12345 by role",
    ),
    "reply": ActionSpec(
        "hotline", "reply", act.ReplyAction, {}, "centre replies --message to the citizen (回复)"
    ),
    "close": ActionSpec(
        "hotline", "close", act.CloseAction, {"accept": True}, "centre closes the order (结案)"
    ),
    "reject": ActionSpec(
        "hotline",
        "close",
        act.CloseAction,
        {"accept": False},
        "centre rejects the feedback with --reason (驳回重办)",
    ),
    "revisit": ActionSpec(
        "hotline",
        "revisit",
        act.RevisitAction,
        {},
        "revisit --outcome satisfied|basically_satisfied|dissatisfied|unreachable (回访)",
    ),
    "push-to-bureau": ActionSpec(
        "police",
        "push_to_bureau",
        act.PolicePushAction,
        {},
        "police unit pushes the case it handles to the bureau with --reason (推送分局)",
    ),
    "approve-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a police push during handling; 12345 joins",
    ),
    "refuse-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a police push back with --reason",
    ),
    "police-linkage": ActionSpec(
        "hotline",
        "call_police",
        act.PoliceLinkageAction,
        {},
        "handling unit calls police to the scene with --reason (派警联动)",
    ),
    "report-in": ActionSpec(
        "whistle", "report_in", act.ReportInAction, {}, "a summoned unit reports in (应哨报到)"
    ),
    "whistle-plan": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "plan"},
        "record the joint plan on the whistle, in --note (联合处置方案)",
    ),
    "whistle-handle": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "handling"},
        "record a step of the joint handling, in --note (联合处置)",
    ),
    "close-whistle": ActionSpec(
        "whistle", "close", act.CloseWhistleAction, {}, "the officer who blew it closes it"
    ),
    "emergency-linkage": ActionSpec(
        "incident",
        "link_emergency",
        act.EmergencyLinkageAction,
        {},
        "notify emergency units --units 119,120,gas … at once (应急联动)",
    ),
    "acknowledge": ActionSpec(
        "emergency",
        "acknowledge",
        act.AcknowledgeAction,
        {},
        "an emergency unit (--as emergency_unit:CODE) acknowledges its notice",
    ),
}


class DivertResult(IntakeDecision):
    """The intake's decision, as the platform that pushed the report sees it."""

    reports: int = 1
    closed: bool = False  # the same push of an incident already closed: nothing started


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


class IncidentListing(BaseModel):
    incident_id: str
    status: str
    stage: str
    owner: str
    origin: str
    township: str
    category: str
    overdue: bool
    whistled: bool = False
    reports: int = 1
    started: str


class LinkageClient:
    def __init__(self, client: Client, task_queue: str = "linkage") -> None:
        self.client = client
        self.task_queue = task_queue

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

    async def divert(self, report: IncidentReport | dict) -> DivertResult:
        """Hand a report to the intake: it joins a matching open incident or starts a new one."""
        if not isinstance(report, IncidentReport):
            report = parse_report(report)
        # One update ID for every attempt: the server applies a submission at most once.
        update_id = f"submit:{report.incident_id}:{uuid.uuid4().hex}"
        for attempt in range(INTAKE_ATTEMPTS):
            try:
                return await self._submit(report, update_id)
            except RPCError as err:
                # The intake takes a bounded number of reports at once; a burst waits its turn,
                # and an update the server aborted (it was not applied) is sent again.
                busy = err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)
                busy = busy or "in-flight" in str(err) or "aborted" in str(err)
                if not busy or attempt == INTAKE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def _submit(self, report: IncidentReport, update_id: str) -> DivertResult:
        try:
            decision = await self.client.execute_update_with_start_workflow(
                ReportIntake.submit,
                report,
                id=update_id,
                start_workflow_operation=WithStartWorkflowOperation(
                    ReportIntake.run,
                    IntakeInput(),
                    id=intake_id(self.task_queue),
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    task_queue=self.task_queue,
                    static_summary="受理登记 intake: 新报告并入匹配的事件或新建事件",
                ),
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "IncidentClosed":
                return DivertResult(incident_id=report.incident_id, new=False, closed=True)
            raise
        return DivertResult(**decision.model_dump())

    # --- status -------------------------------------------------------------------------------

    def _handle(self, incident_id: str) -> WorkflowHandle[Any, IncidentSummary]:
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
                incident_id=incident_id, running=False, stage=summary.stage, summary=summary
            )
        state: IncidentState = await handle.query(DivertedIncident.state)
        police = hotline = None
        if state.police_workflow_id:
            police = await self._loop_state(state.police_workflow_id, PoliceLoop.state)
        if state.hotline_workflow_id:
            hotline = await self._loop_state(state.hotline_workflow_id, HotlineLoop.state)
        whistles = [
            whistle
            for brief in state.whistles
            if (whistle := await self._loop_state(brief.workflow_id, Whistle.state)) is not None
        ]
        emergencies = [
            linkage
            for brief in state.emergencies
            if (linkage := await self._loop_state(brief.workflow_id, EmergencyLinkage.state))
            is not None
        ]
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

    async def _loop_state(self, workflow_id: str, query):
        try:
            return await self.client.get_workflow_handle(workflow_id).query(query)
        except RPCError:
            return None

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
            model = spec.model.model_validate({**payload, **spec.fixed})
        except ValidationError as err:
            raise LinkageError(format_validation_error(action, err)) from None
        loop = spec.loop
        if loop == "by_role":
            police_side = model.actor.role in (Role.police_unit, Role.police_bureau)
            loop = "police" if police_side else "hotline"
        if loop == "whistle":
            workflow_id = await self._whistle_for(incident_id, action, model.actor.unit, whistle)
        elif loop == "emergency":
            workflow_id = await self._emergency_for(incident_id, action, model.actor.unit)
        elif loop == "incident":
            workflow_id = incident_id
        else:
            workflow_id = loop_workflow_id(incident_id, loop)
        handle = self.client.get_workflow_handle(workflow_id)
        for attempt in range(LOOP_START_POLLS + 1):
            try:
                return await handle.execute_update(spec.update, model, result_type=_STATE[loop])
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise ActionRefused(f"{action} refused: {message}") from None
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                why = await self._why_missing(incident_id, loop, action)
                if why is not None or attempt == LOOP_START_POLLS:
                    raise ActionRefused(
                        why or f"{action} refused: incident {incident_id} has no {loop} loop"
                    ) from None
                await asyncio.sleep(0.2)  # the loop is starting: the incident entered handling
        raise AssertionError("unreachable")

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

    async def _emergency_for(self, incident_id: str, action: str, code: str) -> str:
        status = await self.status(incident_id)
        linked = status.incident.emergencies if status.incident else []
        waiting = [e for e in linked if not e.closed and code in e.units]
        if not waiting:
            raise ActionRefused(
                f"{action} refused: incident {incident_id} has no open emergency "
                f"linkage that notified {code}"
            )
        return waiting[-1].workflow_id

    async def whistle(self, incident_id: str, call: act.WhistleCall | dict) -> None:
        """Blow the whistle on an open incident (a signal: it does not wait for the workflow)."""
        try:
            call = act.WhistleCall.model_validate(call)
        except ValidationError as err:
            raise LinkageError(format_validation_error("whistle", err)) from None
        if call.actor.role not in (Role.police_bureau, Role.command_center):
            raise ActionRefused(
                "whistle refused: a duty officer blows the whistle "
                "(police_bureau or command_center)"
            )
        status = await self.status(incident_id)
        if not status.running:
            raise ActionRefused(
                f"whistle refused: incident {incident_id} is already "
                f"{STAGE_LABELS[status.stage]} ({status.stage.value})"
            )
        await self._handle(incident_id).signal(DivertedIncident.blow_whistle, call)

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

    # --- the list -----------------------------------------------------------------------------

    async def list(
        self,
        stage: str | None = None,
        owner: str | None = None,
        township: str | None = None,
        overdue: bool = False,
        whistled: bool = False,
        running_only: bool = False,
        limit: int = 100,
    ) -> list[IncidentListing]:
        clauses = ["WorkflowType = 'DivertedIncident'"]
        for key, value in ((STAGE, stage), (OWNER, owner), (TOWNSHIP, township)):
            if value:
                clauses.append(f"{key.name} = '{_quote(value)}'")
        if running_only:
            clauses.append("ExecutionStatus = 'Running'")
        if whistled:
            clauses.append(f"{WHISTLE.name} = true")
        if overdue:
            late = {
                wf.search_attributes.get(INCIDENT.name, [wf.id])[0]
                async for wf in self.client.list_workflows(f"{OVERDUE.name} = true", limit=1000)
            }
            if not late:
                return []
            ids = ", ".join(f"'{_quote(i)}'" for i in sorted(late))
            clauses.append(f"WorkflowId IN ({ids})")
        listings = []
        async for wf in self.client.list_workflows(" AND ".join(clauses), limit=limit):
            attrs = wf.typed_search_attributes
            listings.append(
                IncidentListing(
                    incident_id=wf.id,
                    status=wf.status.name.lower() if wf.status else "unknown",
                    stage=attrs.get(STAGE) or "",
                    owner=attrs.get(OWNER) or "",
                    origin=attrs.get(ORIGIN) or "",
                    township=attrs.get(TOWNSHIP) or "",
                    category=attrs.get(CATEGORY) or "",
                    overdue=bool(attrs.get(OVERDUE)) or overdue,
                    whistled=bool(attrs.get(WHISTLE)),
                    reports=attrs.get(REPORTS) or 1,
                    started=wf.start_time.isoformat(timespec="seconds"),
                )
            )
        return listings


INTAKE_ATTEMPTS = 40  # about 30 seconds of waiting for a turn at a busy intake
LOOP_START_POLLS = 25  # up to 5 seconds for a loop whose owner was just decided

_STATE = {
    "incident": IncidentState,
    "police": PoliceLoopState,
    "hotline": HotlineLoopState,
    "whistle": WhistleState,
    "emergency": EmergencyState,
}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


__all__ = ["ACTIONS", "ActionRefused", "LinkageClient", "LinkageError", "incident_id_for"]
