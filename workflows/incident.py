"""DivertedIncident: one incident handed from one platform to the other, seen through to the end.

Triage first (分诊: police matter or not, catalogue item, unit; the linkage desk decides what
it leaves open, and a possible danger never leaves 110 by itself) → sending-side review (a
station's push is reviewed by the district bureau) → the push to the receiving platform →
receiving-side review (accept or dispute) → negotiation when disputed
(unsettled in time: the first receiver handles it first, 首接平台先行受理) → the owning side's
loop as a child workflow, or both at once (会同处置) → the result pushed back (双推送) → a summary
with the whole timeline and both sides' assessment figures (双考核).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from activities.triage import OverrideInput, TriageActivities, TriageInput
    from linkage.actions import (
        EmergencyLinkageAction,
        ReceiveAction,
        ResubmitAction,
        ReviewAction,
        SettleAction,
        TriageDecisionAction,
        WhistleCall,
    )
    from linkage.models import (
        STAGE_LABELS,
        WHISTLE_RULES,
        Actor,
        DeadlineView,
        IncidentReport,
        Owner,
        Platform,
        Role,
        Satisfaction,
        Stage,
        TimeLimits,
        TimelineEntry,
    )
    from linkage.records import IncidentProgress, OpenIncidentInput, PushInput
    from linkage.temporal import (
        CATEGORY,
        INCIDENT,
        ORIGIN,
        OWNER,
        REPORTS,
        SAFETY,
        STAGE,
        SUBCATEGORY,
        TOWNSHIP,
        WHISTLE,
    )
    from linkage.triage import TriageRequest, TriageResult

from workflows.base import RECORD_TIMEOUT, Deadline, LinkageWorkflow, hours, refuse, require_role
from workflows.emergency import EmergencyInput, EmergencyLinkage, EmergencyResult
from workflows.hotline_loop import HotlineLoop, HotlineLoopInput, HotlineLoopResult
from workflows.police_loop import PoliceLoop, PoliceLoopInput, PoliceLoopResult
from workflows.signals import (
    POLICE_LINKAGE,
    POLICE_PUSH,
    RULE_TRIGGERED,
    PoliceLinkageCall,
    PolicePush,
    RuleEvent,
)
from workflows.whistle import Whistle, WhistleInput, WhistleResult

SIDE_ROLES = {
    Platform.police: (Role.police_bureau, Role.police_unit),
    Platform.hotline: (Role.command_center, Role.member_unit),
}
REVIEWER = {Platform.police: Role.police_bureau, Platform.hotline: Role.command_center}


class IncidentInput(BaseModel):
    report: IncidentReport


class TriageOverride(BaseModel):
    """A person's decision on triage: who, why, and what it was before."""

    actor: str
    reason: str
    direction_before: str
    subcategory_before: str


class Assessment(BaseModel):
    """One side's figures for the two-way assessment (双考核)."""

    assessor: str  # police_bureau assesses police units; command_center assesses member units
    loop: str
    unit: str
    completed: bool
    on_time: bool
    satisfaction: str = ""


class WhistleBrief(BaseModel):
    number: int
    workflow_id: str
    reason: str
    units: list[str]
    blown_by: str
    closed: bool = False


class EmergencyBrief(BaseModel):
    number: int
    workflow_id: str
    units: dict[str, str]
    closed: bool = False


class IncidentState(BaseModel):
    incident_id: str
    origin: Platform
    receiver: Platform
    stage: Stage
    owner: Owner | None
    pushes: int
    divert_reason: str
    dispute_reason: str
    first_receiver_handles: bool
    limits_version: str
    police_workflow_id: str
    hotline_workflow_id: str
    overdue: bool
    triage: TriageResult | None = None
    triage_override: TriageOverride | None = None
    whistles: list[WhistleBrief] = []
    emergencies: list[EmergencyBrief] = []
    police_push_pending: PolicePush | None = None
    deadlines: list[DeadlineView]
    timeline: list[TimelineEntry]


class IncidentSummary(BaseModel):
    incident_id: str
    origin: Platform
    stage: Stage
    owner: Owner | None
    outcome: str
    first_receiver_handles: bool
    triage: TriageResult | None = None
    triage_override: TriageOverride | None = None
    police: PoliceLoopResult | None
    hotline: HotlineLoopResult | None
    assessments: list[Assessment]
    whistles: list[WhistleResult] = []
    emergencies: list[EmergencyResult] = []
    timeline: list[TimelineEntry]


def police_case_no(report: IncidentReport) -> str:
    return report.reference if report.origin is Platform.police else f"JQ-{report.reference}"


def work_order_no(report: IncidentReport) -> str:
    return report.reference if report.origin is Platform.hotline else f"GD-{report.reference}"


def _brief(result: BaseModel | None) -> dict | None:
    return result.model_dump(mode="json", exclude={"timeline"}) if result else None


def failed_loop(loop: str, report: IncidentReport) -> PoliceLoopResult | HotlineLoopResult:
    """The result a loop that failed or was terminated counts as: not completed, not on time."""
    if loop == "police":
        return PoliceLoopResult(
            case_no=police_case_no(report),
            unit="",
            completed=False,
            on_time=False,
            feedback="",
            timeline=[],
        )
    return HotlineLoopResult(
        order_no=work_order_no(report),
        unit="",
        completed=False,
        on_time=False,
        satisfaction=Satisfaction.not_revisited,
        returns=0,
        reopens=0,
        feedback="",
        timeline=[],
    )


def loop_workflow_id(incident_id: str, loop: str) -> str:
    return f"{incident_id}.{loop}"


@workflow.defn
class DivertedIncident(LinkageWorkflow):
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self.report = input.report
        self.origin = input.report.origin
        self.receiver = self.origin.other
        self._init_base(input.report.incident_id, None)
        self.stage = Stage.sending_review
        self.owner: Owner | None = None
        self.pushes = 1  # the push that started it; repeats arrive as push_received
        self.divert_reason = input.report.divert_reason
        self.limits_version = ""
        self.review: ReviewAction | None = None
        self.resubmit_action: ResubmitAction | None = None
        self.received: ReceiveAction | None = None
        self.dispute_reason = ""
        self.first_receiver_handles = False
        self.started_loops: set[str] = set()
        self.loop_results: dict[str, PoliceLoopResult | HotlineLoopResult] = {}
        self._loop_tasks: list[asyncio.Task] = []
        self.whistles: list[WhistleBrief] = []
        self.whistle_results: list[WhistleResult] = []
        self.emergencies: list[EmergencyBrief] = []
        self.police_push_pending: PolicePush | None = None
        self.emergency_results: list[EmergencyResult] = []
        self.opened = False  # the incident is written, triaged and its time limits loaded
        self.limits: TimeLimits  # set when it opens; handlers wait for that
        self.joint = input.report.joint
        self.category = input.report.category  # the catalogue's name once triaged
        self.triage: TriageResult | None = None
        self.triage_override: TriageOverride | None = None
        self.triage_decided = False

    @workflow.run
    async def run(self, input: IncidentInput) -> IncidentSummary:
        report = input.report
        limits: TimeLimits = await workflow.execute_local_activity_method(
            RecordActivities.open_incident,
            OpenIncidentInput(report=report, stage=self.stage.value, pushes=self.pushes),
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        self.limits = limits
        self._supervision = limits.supervision
        self.limits_version = limits.version
        review = limits.review
        await self._triage(report)
        if self.origin not in review.sending_review_required:
            self.stage = Stage.receiving_review
        self.opened = True

        if not await self._triage_review(limits):
            return await self._finish(
                f"分诊: 由首接平台{self.origin.label}处置，不再分流 ({self.triage_note()})"
            )
        if self.stage is Stage.sending_review and not await self._sending_review(limits):
            return await self._finish("案件由原平台保留处置 (撤回推送)")

        self.send(
            PushInput(
                key=f"{self.incident_id}:incident",
                target=self.receiver,
                kind="incident",
                incident_id=self.incident_id,
                payload={
                    "report": report.model_dump(mode="json"),
                    "divert_reason": self.divert_reason,
                },
            )
        )
        await self._stage(Stage.receiving_review, f"推送至{self.receiver.label}，待接收审核")
        self.set_deadline("receiving_review", "接收审核时限", hours(review.receiving_review_hours))
        await self.run_until(lambda: self.received is not None)
        self.clear_deadline("receiving_review")

        if self.received is not None and not self.received.accept:
            await self._stage(Stage.negotiation, f"异议: {self.dispute_reason}")
            self.set_deadline("negotiation", "协商时限", hours(review.negotiation_hours))
            await self.run_until(lambda: self.owner is not None)
            self.clear_deadline("negotiation")

        await self._stage(Stage.handling, f"责任方 {self.owner.value}")
        police, hotline = await self._run_loops()

        await self._stage(Stage.pushing_back, "办理结果回推")
        target = self.receiver if self.owner.value == self.origin.value else self.origin
        self.send(
            PushInput(
                key=f"{self.incident_id}:result",
                target=target,
                kind="result",
                incident_id=self.incident_id,
                payload={
                    "owner": self.owner.value,
                    "police": _brief(police),
                    "hotline": _brief(hotline),
                },
            )
        )
        await self.run_until(lambda: True)
        return await self._finish("双闭环完成", police, hotline)

    # --- stages -----------------------------------------------------------------------------

    async def _stage(self, stage: Stage, note: str) -> None:
        self.stage = stage
        workflow.upsert_search_attributes(
            [STAGE.value_set(stage.value), OWNER.value_set(self.owner.value if self.owner else "")]
        )
        await self.record(stage.value, "enter", note=f"{STAGE_LABELS[stage]}: {note}")

    # --- triage (分诊) -----------------------------------------------------------------------

    async def _triage(self, report: IncidentReport) -> None:
        self.triage = await workflow.execute_local_activity_method(
            TriageActivities.triage,
            TriageInput(
                incident_id=self.incident_id,
                request=TriageRequest(text=report.description, township=report.location.township),
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        self._triaged()
        await self.record("triage", "classify", note=f"分诊: {self.triage.reason}")

    def _triaged(self) -> None:
        """The category, the search attributes and the Web UI follow the current triage."""
        triage = self.triage
        assert triage is not None
        if triage.category is not None:
            self.category = triage.category.name
        workflow.upsert_search_attributes(
            [
                CATEGORY.value_set(self.category or "uncategorised"),
                SUBCATEGORY.value_set(triage.subcategory.code if triage.subcategory else ""),
                SAFETY.value_set(bool(triage.safety)),
            ]
        )
        workflow.set_current_details(self.details())

    def triage_note(self) -> str:
        triage = self.triage
        if triage is None:
            return "未分诊"
        item = str(triage.subcategory) if triage.subcategory else "未分类"
        return f"{item} · {triage.direction} · 置信度 {triage.confidence:.2f}"

    async def _triage_review(self, limits: TimeLimits) -> bool:
        """The linkage desk decides when triage is unsure or disagrees with the push; True when
        the push goes on to the receiving platform (alone or jointly)."""
        triage = self.triage
        assert triage is not None
        agrees = triage.direction in (self.receiver.value, "both")
        if agrees and not triage.needs_review:
            return True
        why = "；".join(triage.review_reasons) or (
            f"分诊方向 {triage.direction} 与推送方向 {self.receiver.value} 不一致"
        )
        if not agrees and triage.review_reasons:
            why += f"；分诊方向 {triage.direction} 与推送方向 {self.receiver.value} 不一致"
        next_stage = self.stage  # where the push stands once the desk has decided
        await self._stage(Stage.triage_review, f"对接联动专席复核: {why}")
        self.set_deadline("triage_review", "分诊复核时限", hours(limits.review.triage_review_hours))
        await self.run_until(lambda: self.triage_decided)
        self.clear_deadline("triage_review")
        # set without a record: the next stage records itself, and an early `receive` for a
        # platform with no sending review is accepted at once, as without a triage review
        self.stage = next_stage
        return self.triage.direction in (self.receiver.value, "both")

    @workflow.update
    async def decide_triage(self, action: TriageDecisionAction) -> IncidentState:
        """The linkage desk decides or overrides triage (改判), recorded with who and why."""
        await self._opened()
        self.validate_decide_triage(action)
        before = self.triage
        assert before is not None
        decided = await workflow.execute_local_activity_method(
            TriageActivities.override,
            OverrideInput(
                incident_id=self.incident_id,
                triage=before,
                direction=action.direction,
                subcategory=action.subcategory,
                township=self.report.location.township,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        self.validate_decide_triage(action)  # nothing else decided it meanwhile
        self.triage = decided
        self.triage_decided = True
        changed = decided.direction != before.direction or decided.subcategory != before.subcategory
        if changed:
            self.triage_override = TriageOverride(
                actor=str(action.actor),
                reason=action.reason,
                direction_before=before.direction,
                subcategory_before=before.subcategory.code if before.subcategory else "",
            )
        self._triaged()
        self.changed()
        if changed:
            note = (
                f"改判: {before.direction} → {decided.direction}, "
                f"{before.subcategory or '未分类'} → {decided.subcategory or '未分类'}: "
                f"{action.reason}"
            )
        else:
            note = f"确认分诊结果 ({self.triage_note()}): {action.reason}"
        await self.record("triage", "override" if changed else "confirm", action.actor, note)
        return self.state()

    @decide_triage.validator
    def validate_decide_triage(self, action: TriageDecisionAction) -> None:
        require_role(action.actor, Role.linkage_desk)
        if self.stage in (Stage.closed, Stage.withdrawn):
            refuse(f"incident {self.incident_id} is already {STAGE_LABELS[self.stage]}")
        if not self.opened or (self.stage is Stage.triage_review and not self.triage_decided):
            return  # the full decision: direction and item
        current = self.triage.direction if self.triage else ""
        if action.direction != current:
            refuse(
                f"direction: the incident is past triage ({STAGE_LABELS[self.stage]}), so "
                f"the direction stays {current}; dispute or negotiate to change who handles it"
            )
        if not action.subcategory:
            refuse("subcategory: past triage only the catalogue item can change; name it")

    async def _sending_review(self, limits: TimeLimits) -> bool:
        """The bureau reviews a station's push; sent back, the station revises or withdraws."""
        review = limits.review
        while True:
            await self._stage(Stage.sending_review, f"推送原因: {self.divert_reason}")
            self.set_deadline("sending_review", "推送审核时限", hours(review.sending_review_hours))
            await self.run_until(lambda: self.review is not None)
            self.clear_deadline("sending_review")
            if self.review is not None and self.review.approve:
                return True
            await self._stage(Stage.sent_back, "退回补正")
            self.set_deadline("resubmit", "补正时限", hours(review.resubmit_hours))
            await self.run_until(lambda: self.resubmit_action is not None)
            self.clear_deadline("resubmit")
            if self.resubmit_action is None or self.resubmit_action.withdraw:
                return False
            self.review, self.resubmit_action = None, None

    async def _run_loops(self) -> tuple[PoliceLoopResult | None, HotlineLoopResult | None]:
        """Run the owner's loop(s) until every loop started, now or later, has closed."""
        if self.owner in (Owner.police, Owner.joint):
            await self._start_loop("police")
        if self.owner in (Owner.hotline, Owner.joint):
            await self._start_loop("hotline")
        if self.owner is Owner.joint:
            await self._rule("joint_handling", [], note=f"责任方 {self.owner.value}")
        # Every loop closed, and no police push still waiting for the bureau's review.
        await self.run_until(
            lambda: (
                set(self.loop_results) == self.started_loops and self.police_push_pending is None
            )
        )
        police = self.loop_results.get("police")
        hotline = self.loop_results.get("hotline")
        return police, hotline  # type: ignore[return-value]

    async def _start_loop(self, loop: str) -> None:
        """Start a loop as a child workflow; a task keeps its result when it closes."""
        if loop in self.started_loops:
            return
        self.started_loops.add(loop)
        report, limits = self.report, self.limits
        attrs = TypedSearchAttributes(
            [
                SearchAttributePair(INCIDENT, self.incident_id),
                SearchAttributePair(ORIGIN, self.origin.value),
                SearchAttributePair(TOWNSHIP, report.location.township),
                SearchAttributePair(CATEGORY, self.category or "uncategorised"),
            ]
        )
        brief = f"{report.location.township} {report.location.address}: {report.description}"
        where = f"{report.location.township} · {self.category or '待分类'}"
        if loop == "police":
            case_no = police_case_no(report)
            handle = await workflow.start_child_workflow(
                PoliceLoop.run,
                PoliceLoopInput(
                    incident_id=self.incident_id,
                    case_no=case_no,
                    urgency=report.urgency,
                    township=report.location.township,
                    brief=brief,
                    limits=limits,
                    suggested_unit=self._suggested_unit("police"),
                ),
                id=loop_workflow_id(self.incident_id, "police"),
                search_attributes=attrs,
                parent_close_policy=ParentClosePolicy.TERMINATE,
                static_summary=f"110 警单 {case_no} · {where}",
            )
        else:
            order_no = work_order_no(report)
            handle = await workflow.start_child_workflow(
                HotlineLoop.run,
                HotlineLoopInput(
                    incident_id=self.incident_id,
                    order_no=order_no,
                    urgency=report.urgency,
                    township=report.location.township,
                    brief=brief,
                    # police sent it, or police are on it: replies reach them too
                    notify_police=self.origin is Platform.police or "police" in self.started_loops,
                    limits=limits,
                    suggested_unit=self._suggested_unit("hotline"),
                ),
                id=loop_workflow_id(self.incident_id, "hotline"),
                search_attributes=attrs,
                parent_close_policy=ParentClosePolicy.TERMINATE,
                static_summary=f"12345 工单 {order_no} · {where}",
            )
        workflow.set_current_details(self.details())

        async def keep_result() -> None:
            try:
                self.loop_results[loop] = await handle
            except ChildWorkflowError as err:  # failed or terminated: counted as not completed
                self.loop_results[loop] = failed_loop(loop, report)
                await self.record("handling", "loop_failed", note=f"{loop} 闭环异常终止: {err}")

        self._loop_tasks.append(asyncio.create_task(keep_result()))
        # The district's table for the triaged category and for the category the sending
        # platform declared, and the units the safety floor names for the danger found.
        triage = self.triage
        codes = list(
            dict.fromkeys(
                [
                    *limits.emergency.categories.get(self.category, []),
                    *limits.emergency.categories.get(report.category, []),
                    *(triage.emergency_units if triage else []),
                ]
            )
        )
        if loop == "police" and codes and not self.emergencies:
            why = f"安全底线 {'、'.join(triage.safety)}" if triage and triage.safety else ""
            await self._link_emergency(codes, f"{why or self.category}: 派警处置同时联动应急单位")

    def _suggested_unit(self, loop: str) -> str:
        """Triage's route for this loop's side: a P item's unit is for police, an H item's for
        12345, and a joint incident's 12345 part has a route of its own."""
        triage = self.triage
        if triage is None or triage.category is None:
            return ""
        side = "police" if triage.category.code.startswith("P") else "hotline"
        route = triage.route if side == loop else None
        if loop == "hotline" and side == "police":
            route = triage.hotline_route
        if route is None or route.kind == "command_center":
            return ""
        return route.unit

    # --- the whistle (“双哨”联处) and the rules that blow it ---------------------------------

    @workflow.signal
    async def blow_whistle(self, call: WhistleCall) -> None:
        """A duty officer blows the whistle; the signal never waits, refusals are recorded."""
        await self._opened()
        if self.stage in (Stage.closed, Stage.withdrawn):
            await self.record(
                "whistle", "refused", call.actor, f"事件已结束，不再吹哨: {call.reason}"
            )
            return
        if call.actor.role not in (Role.police_bureau, Role.command_center):
            await self.record(
                "whistle",
                "refused",
                call.actor,
                f"吹哨须由值班人员发起 (police_bureau 或 command_center): {call.reason}",
            )
            return
        hours_ = call.deadline_hours or self.limits.whistle.report_in_hours
        await self._blow(call.reason, call.units, hours_, blower=call.actor)

    @workflow.signal(name=RULE_TRIGGERED)
    async def rule_triggered(self, event: RuleEvent) -> None:
        """A loop reports that one of the district's whistle rules applies."""
        await self._opened()
        await self._rule(event.rule, event.units, event.note)

    async def _rule(self, rule: str, about: list[str], note: str) -> None:
        config = self.limits.whistle.rules.get(rule)
        if config is None or not config.enabled:
            return
        units = list(dict.fromkeys([*config.summon, *about]))
        reason = f"{WHISTLE_RULES[rule]}" + (f" ({note})" if note else "")
        await self._blow(reason, units, self.limits.whistle.report_in_hours, rule=rule)

    async def _blow(
        self,
        reason: str,
        units: list[str],
        report_in_hours: float,
        blower: Actor | None = None,
        rule: str = "",
    ) -> None:
        number = len(self.whistles) + 1
        brief = WhistleBrief(
            number=number,
            workflow_id=f"{self.incident_id}.whistle-{number}",
            reason=reason,
            units=units,
            blown_by=str(blower or f"rule:{rule}"),
        )
        self.whistles.append(brief)
        if number == 1:
            workflow.upsert_search_attributes([WHISTLE.value_set(True)])
        await self.record(
            "whistle",
            "blow",
            brief.blown_by,
            f"吹哨 #{number}: {reason}；应哨单位: {'、'.join(units)}",
        )

        await self._start_beside(
            Whistle.run,
            WhistleInput(
                incident_id=self.incident_id,
                number=number,
                blower=blower,
                rule=rule,
                reason=reason,
                units=units,
                report_in_hours=report_in_hours,
                remind_before_hours=self.limits.whistle.remind_before_hours,
                supervision=self.limits.supervision,
            ),
            brief,
            self.whistle_results,
            f"吹哨 whistle #{number} · {reason}",
        )

    async def _start_beside(
        self,
        run: Any,
        arg: BaseModel,
        brief: WhistleBrief | EmergencyBrief,
        results: list,
        summary: str,
    ) -> None:
        """Start a whistle or an emergency linkage beside the loops. When it ends its result
        joins `results` and its brief is closed, so it no longer holds the incident open."""
        handle = await workflow.start_child_workflow(
            run,
            arg,
            id=brief.workflow_id,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(INCIDENT, self.incident_id)]
            ),
            parent_close_policy=ParentClosePolicy.TERMINATE,
            static_summary=summary,
        )

        async def keep_result() -> None:
            try:
                results.append(await handle)
            except ChildWorkflowError as err:  # failed or terminated
                await self.record(
                    "handling", "escalation_failed", note=f"{summary} 异常终止: {err}"
                )
            finally:
                brief.closed = True

        self._loop_tasks.append(asyncio.create_task(keep_result()))

    # --- emergency linkage (应急联动) -------------------------------------------------------

    async def _link_emergency(self, codes: list[str], reason: str) -> None:
        number = len(self.emergencies) + 1
        units = {code: self.limits.emergency.units[code] for code in codes}
        brief = EmergencyBrief(
            number=number, units=units, workflow_id=f"{self.incident_id}.emergency-{number}"
        )
        self.emergencies.append(brief)
        report = self.report

        await self._start_beside(
            EmergencyLinkage.run,
            EmergencyInput(
                incident_id=self.incident_id,
                number=number,
                units=units,
                reason=reason,
                ack_minutes=self.limits.emergency.ack_minutes,
                supervision=self.limits.supervision,
                payload={
                    "township": report.location.township,
                    "address": report.location.address,
                    "description": report.description,
                    "urgency": report.urgency.value,
                },
            ),
            brief,
            self.emergency_results,
            f"应急联动 emergency #{number} · {'、'.join(units.values())}",
        )
        await self.record(
            "handling",
            "emergency_linkage",
            note=f"应急联动 #{number}: {reason}；通知 {'、'.join(units.values())}",
        )

    @workflow.update
    async def link_emergency(self, action: EmergencyLinkageAction) -> IncidentState:
        await self._opened()
        self.validate_link_emergency(action)
        await self._link_emergency(
            list(dict.fromkeys(action.units)), action.note or f"{action.actor.unit} 发起应急联动"
        )
        return self.state()

    @link_emergency.validator
    def validate_link_emergency(self, action: EmergencyLinkageAction) -> None:
        require_role(action.actor, Role.police_bureau, Role.command_center)
        if self.stage in (Stage.closed, Stage.withdrawn):
            refuse(f"incident {self.incident_id} is already {STAGE_LABELS[self.stage]}")
        if self.opened:
            known = self.limits.emergency.units
            unknown = [u for u in action.units if u not in known]
            if unknown:
                refuse(
                    f"units: unknown emergency unit(s) {', '.join(unknown)}; "
                    f"known: {', '.join(f'{c} ({n})' for c, n in known.items())}"
                )

    # --- police push during handling (处置中推送分局) -----------------------------------------

    @workflow.signal(name=POLICE_PUSH)
    async def police_push(self, push: PolicePush) -> None:
        """Police found during handling that the case is not theirs: the bureau reviews it."""
        await self._opened()
        self.police_push_pending = push
        self.set_deadline(
            "police_push", "分局审核时限", hours(self.limits.review.sending_review_hours)
        )
        await self.record(
            "handling", "police_push", push.unit, f"处置中推送分局审核: {push.reason}"
        )

    @workflow.update
    async def review_police_push(self, action: ReviewAction) -> IncidentState:
        self.validate_review_police_push(action)
        push = self.police_push_pending
        assert push is not None
        self.clear_deadline("police_push")
        if not action.approve:
            self.police_push_pending = None
            await self.record(
                "handling",
                "police_push_sent_back",
                action.actor,
                f"不予分流，继续由警方处置: {action.reason}",
            )
            return self.state()
        self.owner = Owner.joint
        self.send(
            PushInput(
                key=f"{self.incident_id}:incident-from-police",
                target=Platform.hotline,
                kind="incident",
                incident_id=self.incident_id,
                payload={
                    "report": self.report.model_dump(mode="json"),
                    "divert_reason": push.reason,
                    "pushed_by": push.unit,
                },
            )
        )
        await self._stage(Stage.handling, f"分局审核通过，转12345: {push.reason}")
        await self._start_loop("hotline")
        # Only now, with the 12345 loop among the started ones, may the incident move on.
        self.police_push_pending = None
        return self.state()

    @review_police_push.validator
    def validate_review_police_push(self, action: ReviewAction) -> None:
        require_role(action.actor, Role.police_bureau)
        if self.police_push_pending is None:
            refuse(f"incident {self.incident_id} has no police push waiting for review")
        self._at(Stage.handling)
        if not action.approve and not action.reason:
            refuse("sending a push back needs a reason")

    # --- police linkage (派警联动) ---------------------------------------------------------

    @workflow.signal(name=POLICE_LINKAGE)
    async def police_linkage(self, call: PoliceLinkageCall) -> None:
        """A 12345 unit called police to the scene: the police loop starts beside the 12345 one."""
        await self._opened()
        if self.stage is not Stage.handling or "police" in self.started_loops:
            await self.record(
                "handling",
                "police_linkage",
                call.unit,
                f"派警联动 (110 已在处置或事件已办结，不再新建警单): {call.reason}",
            )
            return
        self.owner = Owner.joint
        await self._start_loop("police")  # counted among the loops at once
        await self._stage(Stage.handling, f"派警联动，{call.unit}: {call.reason}")

    async def _quiet(self) -> None:
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and all(b.closed for b in [*self.whistles, *self.emergencies])
            )
        )

    async def _finish(
        self,
        outcome: str,
        police: PoliceLoopResult | None = None,
        hotline: HotlineLoopResult | None = None,
    ) -> IncidentSummary:
        # The incident cannot close while a whistle or an emergency linkage is open.
        await self._quiet()
        final = Stage.closed if self.owner is not None else Stage.withdrawn
        parent = workflow.info().parent
        if parent is not None:  # the intake: later reports about this start a new incident
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                "incident_closed", self.incident_id
            )
        await self._stage(final, outcome)
        await self._quiet()  # anything that arrived meanwhile is handled before the end
        assessments = []
        if police:
            assessments.append(
                Assessment(
                    assessor="police_bureau",
                    loop="police",
                    unit=police.unit,
                    completed=police.completed,
                    on_time=police.on_time,
                )
            )
        if hotline:
            assessments.append(
                Assessment(
                    assessor="command_center",
                    loop="hotline",
                    unit=hotline.unit,
                    completed=hotline.completed,
                    on_time=hotline.on_time,
                    satisfaction=hotline.satisfaction.value,
                )
            )
        for whistle in self.whistle_results:
            for unit in whistle.units:
                assessments.append(
                    Assessment(
                        assessor="whistle",
                        loop=f"whistle-{whistle.number}",
                        unit=unit,
                        completed=unit not in whistle.missed,
                        on_time=unit in whistle.on_time,
                    )
                )
        timeline = sorted(
            self.timeline
            + (police.timeline if police else [])
            + (hotline.timeline if hotline else [])
            + [e for w in self.whistle_results for e in w.timeline]
            + [e for x in self.emergency_results for e in x.timeline],
            key=lambda e: e.at,
        )
        return IncidentSummary(
            incident_id=self.incident_id,
            origin=self.origin,
            stage=final,
            owner=self.owner,
            outcome=outcome,
            first_receiver_handles=self.first_receiver_handles,
            triage=self.triage,
            triage_override=self.triage_override,
            police=police,
            hotline=hotline,
            assessments=assessments,
            whistles=self.whistle_results,
            emergencies=self.emergency_results,
            timeline=timeline,
        )

    # --- deadlines --------------------------------------------------------------------------

    async def on_missed(self, deadline: Deadline) -> bool:
        if deadline.name == "triage_review":
            if self.triage_decided or self.triage is None:
                return False
            # Not decided in time: a possible danger stays with (or goes to) police; anything
            # else goes on as the sending platform pushed it, and the receiver still reviews.
            fallback = "police" if self.triage.safety else self.receiver.value
            self.triage = self.triage.model_copy(update={"direction": fallback})
            self.triage_decided = True
            self.mark_overdue()
            why = "按推送方意见流转，由接收方审核"
            if self.triage.safety:
                why = "存在安全风险，由 110 处置"
            await self.record("triage", "expired", note=f"分诊复核超时: {why}")
            return False
        if deadline.name == "resubmit":
            if self.resubmit_action is not None:
                return False
            await self.record("sent_back", "expired", note="补正时限已过，案件由原平台保留处置")
            self.resubmit_action = ResubmitAction(
                actor={"role": REVIEWER[self.origin], "unit": "system"}, withdraw=True
            )
            return False
        if deadline.name == "receiving_review":
            if self.received is not None:
                return False
            self.received = ReceiveAction(
                actor={"role": REVIEWER[self.receiver], "unit": "system"}, accept=True
            )
            self.owner = self._receiver_owns()
            self.mark_overdue()
            await self.record(
                "receiving_review", "auto_accept", note="接收审核超时，视为接收并记录"
            )
            return False
        if deadline.name == "negotiation":
            if self.owner is not None:
                return False
            self.owner = Owner(self.origin.value)
            self.first_receiver_handles = True
            await self.record(
                "negotiation",
                "first_receiver_handles",
                note=f"协商未果，由首接平台{self.origin.label}先行受理，并督促承办单位反馈",
            )
            return False
        return True

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self._rule("supervision_exhausted", [], deadline.label)

    def _receiver_owns(self) -> Owner:
        """An accepted push: the receiver handles it, with the sender too when both are needed
        (the platform said so, or triage found a joint matter)."""
        both = self.joint or (self.triage is not None and self.triage.direction == "both")
        return Owner.joint if both else Owner(self.receiver.value)

    def snapshot(self) -> dict:
        return {
            "incident": IncidentProgress(
                stage=self.stage.value,
                owner=self.owner.value if self.owner else "",
                pushes=self.pushes,
                overdue=self.overdue,
                **self._triage_fields(),
            )
        }

    def _triage_fields(self) -> dict:
        triage = self.triage
        if triage is None:
            return {"category": self.category}
        return {
            "category": self.category,
            "category_code": triage.category.code if triage.category else "",
            "subcategory": triage.subcategory.code if triage.subcategory else "",
            "direction": triage.direction,
            "triage_confidence": triage.confidence,
            "needs_review": triage.needs_review and not self.triage_decided,
            "safety": bool(triage.safety),
            "route_unit": triage.route.unit,
            "catalogue_version": triage.catalogue_version,
        }

    def details(self) -> str:
        owner = f" · 责任方 owner {self.owner.value}" if self.owner else ""
        late = " · 已超时 overdue" if self.overdue else ""
        triage = ""
        if self.triage is not None:
            safety = f" · 安全底线 {'、'.join(self.triage.safety)}" if self.triage.safety else ""
            by = " · 人工改判" if self.triage_override else ""
            triage = (
                f"\n分诊 triage: {self.triage_note()} · 派往 {self.triage.route.unit}{safety}{by}"
            )
        return (
            f"{self.origin.label} → {self.receiver.label} · 阶段 {STAGE_LABELS[self.stage]} "
            f"({self.stage.value}){owner}{late}{triage}"
        )

    # --- repeated pushes --------------------------------------------------------------------

    @workflow.signal
    async def push_received(self, report: IncidentReport) -> None:
        """A repeated push, or another report of the same matter, joins this incident."""
        self.pushes += 1
        count = self.pushes  # this report's number, whatever arrives while we await
        workflow.upsert_search_attributes([REPORTS.value_set(count)])
        await self._opened()  # its record lands after the incident's own
        if report.reference == self.report.reference:
            note = f"同一事项第 {count} 次推送，已并入本事件"
        else:
            note = (
                f"重复报告 (第 {count} 次): {report.origin.label} {report.reference}: "
                f"{report.description[:100]}"
            )
        await self.record(self.stage.value, "pushed_again", note=note)
        rule = self.limits.whistle.rules.get("repeat_reports")
        if rule is not None and count == rule.threshold:
            await self._rule("repeat_reports", [], f"已收到 {count} 次报告")

    # --- the parties ------------------------------------------------------------------------

    async def _opened(self) -> None:
        """An action that arrives while the incident is still opening waits for it, then is
        checked again against the stage the incident has reached."""
        await workflow.wait_condition(lambda: self.opened)

    def _at(self, stage: Stage) -> None:
        if self.opened and self.stage is not stage:
            refuse(
                f"incident {self.incident_id} is at {STAGE_LABELS[self.stage]} "
                f"({self.stage.value}); this action needs {STAGE_LABELS[stage]} ({stage.value})"
            )

    @workflow.update
    async def review_push(self, action: ReviewAction) -> IncidentState:
        await self._opened()
        self.validate_review_push(action)
        self.review = action
        self.changed()
        if action.approve:
            await self.record("sending_review", "approve", action.actor, action.note or "审核通过")
        else:
            await self.record("sending_review", "send_back", action.actor, f"退回: {action.reason}")
        return self.state()

    @review_push.validator
    def validate_review_push(self, action: ReviewAction) -> None:
        self._at(Stage.sending_review)
        require_role(action.actor, REVIEWER[self.origin])
        if self.review is not None:
            decided = "approved" if self.review.approve else "sent back"
            refuse(f"this push has already been reviewed ({decided})")
        if not action.approve and not action.reason:
            refuse("sending a push back needs a reason")

    @workflow.update
    async def resubmit(self, action: ResubmitAction) -> IncidentState:
        await self._opened()
        self.validate_resubmit(action)
        self.resubmit_action = action
        if not action.withdraw:
            self.divert_reason = action.divert_reason
        self.changed()
        note = "撤回推送" if action.withdraw else f"补正后重新推送: {action.divert_reason}"
        await self.record(
            "sent_back", "withdraw" if action.withdraw else "resubmit", action.actor, note
        )
        return self.state()

    @resubmit.validator
    def validate_resubmit(self, action: ResubmitAction) -> None:
        self._at(Stage.sent_back)
        require_role(action.actor, *SIDE_ROLES[self.origin])
        if self.resubmit_action is not None:
            refuse("the sent-back push has already been resubmitted or withdrawn")
        if not action.withdraw and len(action.divert_reason) < 2:
            refuse("divert_reason: a resubmitted push needs its revised reason (推送原因)")

    @workflow.update
    async def receive(self, action: ReceiveAction) -> IncidentState:
        await self._opened()
        self.validate_receive(action)
        self.received = action
        self.changed()
        if action.accept:
            self.owner = self._receiver_owns()
            await self.record("receiving_review", "accept", action.actor, action.note or "接收")
        else:
            self.dispute_reason = action.reason
            await self.record("receiving_review", "dispute", action.actor, f"异议: {action.reason}")
        return self.state()

    @receive.validator
    def validate_receive(self, action: ReceiveAction) -> None:
        self._at(Stage.receiving_review)
        require_role(action.actor, REVIEWER[self.receiver])
        if self.received is not None:
            refuse(
                f"the push has already been {'accepted' if self.received.accept else 'disputed'}"
            )
        if not action.accept and not action.reason:
            refuse("a dispute needs a reason")

    @workflow.update
    async def settle(self, action: SettleAction) -> IncidentState:
        await self._opened()
        self.validate_settle(action)
        self.owner = action.owner
        self.changed()
        await self.record(
            "negotiation",
            "settle",
            action.actor,
            f"协商确定责任方 {action.owner.value}" + (f": {action.note}" if action.note else ""),
        )
        return self.state()

    @settle.validator
    def validate_settle(self, action: SettleAction) -> None:
        self._at(Stage.negotiation)
        require_role(action.actor, Role.police_bureau, Role.command_center)
        if self.owner is not None:
            refuse(f"the negotiation is settled already (owner {self.owner.value})")

    @workflow.query
    def state(self) -> IncidentState:
        return IncidentState(
            incident_id=self.incident_id,
            origin=self.origin,
            receiver=self.receiver,
            stage=self.stage,
            owner=self.owner,
            pushes=self.pushes,
            divert_reason=self.divert_reason,
            dispute_reason=self.dispute_reason,
            first_receiver_handles=self.first_receiver_handles,
            limits_version=self.limits_version,
            police_workflow_id=loop_workflow_id(self.incident_id, "police")
            if "police" in self.started_loops
            else "",
            hotline_workflow_id=loop_workflow_id(self.incident_id, "hotline")
            if "hotline" in self.started_loops
            else "",
            overdue=self.overdue,
            triage=self.triage,
            triage_override=self.triage_override,
            whistles=self.whistles,
            emergencies=self.emergencies,
            police_push_pending=self.police_push_pending,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
