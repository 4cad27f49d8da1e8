"""DivertedIncident: one incident handed from one platform to the other, seen through to the end.

A platform's report reaches its incident by the incident's own workflow ID (origin-reference)
with Update-with-Start: the same push again finds the same workflow. The incident opens in one
local activity (time limits, triage, and the intake's decision in the records database: new, or
a repeat of an open incident, which it then joins) and goes through its stages:

  triage review (分诊复核) → sending review (推送审核) → the push (推送) → receiving review
  (接收审核) → negotiation (异议协商) → handling (处置中: PoliceLoop and/or HotlineLoop as child
  workflows, whistles and emergency linkages beside them) → the result pushed back (双推送) →
  closed, with the whole timeline and both sides' assessment (双考核).

The stages live in incident_reviews, incident_handling and incident_escalations; their
deadlines in stages.STAGE_DEADLINES; the contracts in contracts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.opening import OpeningActivities
    from linkage.actions import ReceiveAction
    from linkage.models import STAGE_LABELS, IncidentReport, Owner, Platform, Stage, Urgency
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
    )

from workflows.assessment import assess
from workflows.base import RECORD_RETRY, Deadline, LinkageWorkflow, hours, refuse
from workflows.contracts import (
    IncidentInput,
    IncidentState,
    IncidentSummary,
    JoinedReport,
    Submission,
    SubmitAnswer,
    loop_workflow_id,
)
from workflows.incident_escalations import Escalations
from workflows.incident_handling import Handling
from workflows.incident_reviews import REVIEWER, ReviewStages
from workflows.loop_contracts import HotlineLoopResult, PoliceLoopResult
from workflows.stages import STAGE_DEADLINES

OPEN_TIMEOUT = timedelta(seconds=60)
ENDED = (Stage.closed, Stage.withdrawn, Stage.merged)


@workflow.defn
class DivertedIncident(ReviewStages, Handling, Escalations, LinkageWorkflow):
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self.report = input.report
        self.origin = input.report.origin
        self.receiver = self.origin.other
        self._init_base(input.report.incident_id, None)
        self.stage = Stage.sending_review
        self.owner: Owner | None = None
        self.pushes = 1
        self.divert_reason = input.report.divert_reason
        self.joint = input.report.joint
        self.category = input.report.category  # the catalogue's name once triaged
        self.limits = None  # the time-limit table, once opened; handlers wait for that
        self.opened = False
        self.open_error = ""
        self.intake = None
        self.submitted = False
        self.merged_into = ""
        self.triage = None
        self.triage_override = None
        self.triage_decided = False
        self.review = None
        self.resubmit_action = None
        self.received = None
        self.dispute_reason = ""
        self.first_receiver_handles = False
        self.started_loops: set[str] = set()
        self.loop_results: dict[str, PoliceLoopResult | HotlineLoopResult] = {}
        self.children_done: set[str] = set()
        self.heard: dict[str, int] = {}
        self.applied: set[str] = set()  # request IDs of signals already applied
        self.whistles, self.whistle_results = [], []
        self.emergencies, self.emergency_results = [], []
        self.police_push_pending = None
        self.repeat_whistled = False
        self._loop_tasks: list[asyncio.Task] = []
        self.known_attributes(**{INCIDENT.name: self.incident_id, ORIGIN.name: self.origin.value})

    @workflow.run
    async def run(self, input: IncidentInput) -> IncidentSummary:
        if not await self._open(input):
            return await self._finish(self.open_error or f"并入事件 {self.merged_into}")
        review = self.limits.review
        if self.origin not in review.sending_review_required:
            self.stage = Stage.receiving_review
        if not await self._triage_review():
            note = f"分诊: 由首接平台{self.origin.label}处置，不再分流 ({self.triage_note()})"
            return await self._finish(note)
        if self.stage is Stage.sending_review and not await self._sending_review():
            return await self._finish("案件由原平台保留处置 (撤回推送)")

        self._stage(Stage.receiving_review, f"推送至{self.receiver.label}，待送达与接收审核")
        self.send(
            PushInput(
                key=f"{self.incident_id}:incident",
                target=self.receiver,
                kind="incident",
                incident_id=self.incident_id,
                payload={
                    "report": self.report.model_dump(mode="json"),
                    "divert_reason": self.divert_reason,
                },
            ),
            summary=f"推送 push → {self.receiver.value}",
            then=self._push_delivered,
            failed=self._push_failed,
        )
        await self.run_until(lambda: self.received is not None)
        self.clear_deadline("receiving_review")
        if not self.received.accept:
            self._stage(Stage.negotiation, f"异议: {self.dispute_reason}")
            self.arm("negotiation")
            await self.run_until(lambda: self.owner is not None)
            self.clear_deadline("negotiation")

        self._stage(Stage.handling, f"责任方 {self.owner.value}")
        police, hotline = await self._run_loops()

        self._stage(Stage.pushing_back, "办理结果回推")
        target = self.receiver if self.owner.value == self.origin.value else self.origin
        self.send(
            PushInput(
                key=f"{self.incident_id}:result",
                target=target,
                kind="result",
                incident_id=self.incident_id,
                payload={
                    "owner": self.owner.value,
                    "police": police.model_dump(mode="json", exclude={"timeline"})
                    if police
                    else None,
                    "hotline": hotline.model_dump(mode="json", exclude={"timeline"})
                    if hotline
                    else None,
                },
            ),
            summary=f"结果回推 result → {target.value}",
        )
        return await self._finish("双闭环完成", police, hotline)

    # --- opening ----------------------------------------------------------------------------

    async def _open(self, input: IncidentInput) -> bool:
        """Open in one local activity; False when the incident ends at once (it joined another,
        or its report could not be written)."""
        try:
            opened = await workflow.execute_local_activity_method(
                OpeningActivities.open_incident,
                OpenIncidentInput(
                    report=input.report,
                    stage=self.stage.value,
                    at=workflow.now(),
                    harassment_case=input.harassment_case,
                ),
                start_to_close_timeout=OPEN_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
        except ActivityError as err:
            self.open_error = f"受理失败 not taken: {err.cause.message if err.cause else err}"  # type: ignore[union-attr]
            self.opened = True
            return False
        self.limits, self.triage, self.intake = opened.limits, opened.triage, opened.intake
        self._supervision = opened.limits.supervision
        intake = opened.intake
        if not intake.new:
            self.merged_into = intake.incident_id
        self._triaged()
        if intake.harassment_case:
            await self._open_harassment_case(intake.harassment_case)
        self.opened = True  # the submission is answered once the case is opened, if any
        if not intake.new:
            await workflow.get_external_workflow_handle(intake.incident_id).signal(
                DivertedIncident.report_joined,
                JoinedReport(
                    incident_id=self.incident_id,
                    origin=self.origin,
                    reference=self.report.reference,
                    matched_by=intake.matched_by,
                    reports=intake.reports,
                    brief=self.report.description[:100],
                ),
            )
            return False
        self.record("triage", "classify", note=f"分诊: {self.triage.reason}")
        return True

    async def _open_harassment_case(self, case_id: str) -> None:
        """恶意骚扰: the caller's reports passed the rule; a case of its own goes to police. It
        lives on by itself (ABANDON): nothing about it waits for this incident."""
        report, rules = self.report, self.limits.intake
        case = IncidentReport(
            origin=Platform.hotline,
            reference=case_id.removeprefix("hotline-"),
            received_at=workflow.now(),
            caller=report.caller,
            location=report.location,
            description=(
                f"恶意骚扰: 同一来电人 {rules.harassment_window_hours:g} 小时内报警/来电 "
                f"{rules.harassment_reports} 次以上，最近一次: {report.description[:200]}"
            ),
            divert_reason="反复滋扰 12345 与 110 平台，由公安机关依法调查处理",
            urgency=Urgency.routine,
            originating_unit="区12345热线",
            category="违法犯罪类",
        )
        try:
            await workflow.start_child_workflow(
                DivertedIncident.run,
                IncidentInput(report=case, harassment_case=True),
                id=case_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(INCIDENT, case_id),
                        SearchAttributePair(ORIGIN, Platform.hotline.value),
                        SearchAttributePair(TOWNSHIP, report.location.township),
                        SearchAttributePair(CATEGORY, "违法犯罪类"),
                    ]
                ),
                static_summary=f"12345 热线 hotline → 110 平台 police · 恶意骚扰 · {case_id}",
            )
        except WorkflowAlreadyStartedError:
            self.record("intake", "harassment_case_exists", note=f"恶意骚扰案件 {case_id} 已存在")
            return
        self.record("intake", "harassment_case", note=f"恶意骚扰: 已移交公安 {case_id}")

    @workflow.update
    async def submit(self, submission: Submission) -> SubmitAnswer:
        """A platform's report (Update-with-Start). The one that started the incident is
        answered with the intake's decision; the same push again is a re-send, counted once; a
        changed push under the same reference is another report of the incident."""
        first = not self.submitted and submission.report == self.report
        self.submitted = True
        await self._opened()
        if self.open_error:
            raise ApplicationError(self.open_error, type="ReportRefused", non_retryable=True)
        intake = self.intake
        if first:
            return self._answer(new=intake.new, matched_by=intake.matched_by)
        if submission.report == self.report:
            self.record(self.stage.value, "resent", note="同一推送再次发送，按一次计")
            await self.settled()
            return self._answer(resent=True)
        if self.merged_into:
            raise ApplicationError(
                f"{self.incident_id} joined incident {self.merged_into}; push changes there",
                type="ReportRefused",
                non_retryable=True,
            )
        self._count_report(f"同一事项第 {self.pushes + 1} 次推送 (内容有更新)，已并入本事件")
        await self.settled()
        return self._answer()

    def _answer(self, new: bool = False, matched_by: str = "", resent: bool = False):
        target = self.merged_into or self.incident_id
        reports = self.intake.reports if self.merged_into else self.pushes
        return SubmitAnswer(
            incident_id=target,
            new=new,
            reports=reports,
            matched_by=matched_by,
            resent=resent,
            harassment_case=self.intake.harassment_case if new or matched_by else "",
            stage=None if self.merged_into else self.stage,
        )

    @workflow.signal
    async def report_joined(self, joined: JoinedReport) -> None:
        """Another report of the same matter (same caller, or same place and category)."""
        await self._opened()
        note = (
            f"重复报告 (第 {max(self.pushes + 1, joined.reports)} 次, {joined.matched_by}): "
            f"{joined.origin.label} {joined.reference}: {joined.brief}"
        )
        self._count_report(note, at_least=joined.reports)

    def _count_report(self, note: str, at_least: int = 0) -> None:
        self.pushes = max(self.pushes + 1, at_least)
        self.upsert(REPORTS, self.pushes)
        self.record(self.stage.value, "pushed_again", note=note)
        self.changed()
        rule = self.limits.whistle.rules.get("repeat_reports") if self.limits else None
        if rule is not None and self.pushes >= rule.threshold and not self.repeat_whistled:
            self.repeat_whistled = True
            self._loop_tasks.append(
                asyncio.create_task(
                    self._rule("repeat_reports", [], f"已收到 {self.pushes} 次报告")
                )
            )

    # --- stages, deadlines and the parties' checks ------------------------------------------

    def _stage(self, stage: Stage, note: str) -> None:
        self.stage = stage
        self.upsert(STAGE, stage.value)
        self.upsert(OWNER, self.owner.value if self.owner else "")
        self.record(stage.value, "enter", note=f"{STAGE_LABELS[stage]}: {note}")
        self.changed()

    def arm(self, name: str) -> Deadline:
        spec = STAGE_DEADLINES[name]
        return self.set_deadline(name, spec.label, hours(spec.limit_hours(self.limits.review)))

    async def on_missed(self, deadline: Deadline) -> bool:
        spec = STAGE_DEADLINES.get(deadline.name)
        if spec is None or not spec.missed:
            return True
        await getattr(self, spec.missed)()
        return False

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self._rule("supervision_exhausted", [], deadline.label)

    async def _push_delivered(self, receipt) -> None:
        """The receiver's review runs from delivery, not from when the push was queued."""
        if self.received is None and self.stage is Stage.receiving_review:
            self.arm("receiving_review")

    async def _push_failed(self, reason: str) -> None:
        """The push can never reach the receiver: the first receiver handles it (首接平台先行
        受理), and a person is told."""
        if self.received is None:
            self.first_receiver_handles = True
            self.owner = Owner(self.origin.value)
            self.received = ReceiveAction(
                actor={"role": REVIEWER[self.receiver], "unit": "system"}, accept=True
            )
            self.record(
                "receiving_review", "push_failed", note=f"推送失败，由首接平台处置: {reason}"
            )
        await self._rule("delivery_failed", [], reason)

    async def _opened(self) -> None:
        """An action that arrives while the incident is still opening waits for it, then is
        checked again against the stage the incident has reached."""
        await workflow.wait_condition(lambda: self.opened)

    @property
    def ended(self) -> bool:
        return self.stage in ENDED or bool(self.open_error) or bool(self.merged_into)

    def _not_ended(self) -> None:
        if self.ended:
            refuse(f"incident {self.incident_id} is already {STAGE_LABELS[self.stage]}")

    def _at(self, stage: Stage) -> None:
        self._not_ended()
        if self.opened and self.stage is not stage:
            refuse(
                f"incident {self.incident_id} is at {STAGE_LABELS[self.stage]} "
                f"({self.stage.value}); this action needs {STAGE_LABELS[stage]} ({stage.value})"
            )

    def heard_from(self, loop: str) -> None:
        self.heard[loop] = self.heard.get(loop, 0) + 1
        self.changed()

    # --- the end ----------------------------------------------------------------------------

    async def _finish(
        self,
        outcome: str,
        police: PoliceLoopResult | None = None,
        hotline: HotlineLoopResult | None = None,
    ) -> IncidentSummary:
        """Every send taken or failed and every whistle and emergency linkage closed, then the
        final stage, written with the release of the intake's claims."""
        if not self._quiet():  # else the action that ended it answers with the final stage
            await self.run_until(self._quiet)
        if self.merged_into:
            final = Stage.merged
        elif self.owner is not None:
            final = Stage.closed
        else:
            final = Stage.withdrawn
        self._close_claims = not self.merged_into
        self._stage(final, outcome)
        await self.close_out()
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
            assessments=assess(police, hotline, self.whistle_results, self.emergency_results),
            whistles=self.whistle_results,
            emergencies=self.emergency_results,
            merged_into=self.merged_into,
            timeline=sorted(
                self.timeline
                + (police.timeline if police else [])
                + (hotline.timeline if hotline else [])
                + [e for w in self.whistle_results for e in w.timeline]
                + [e for x in self.emergency_results for e in x.timeline],
                key=lambda e: e.at,
            ),
        )

    def _quiet(self) -> bool:
        return self.all_sent() and all(b.closed for b in [*self.whistles, *self.emergencies])

    # --- what supervisors and the records see -----------------------------------------------

    def _triaged(self) -> None:
        """The category, the search attributes and the Web UI follow the current triage."""
        triage = self.triage
        if triage.category is not None:
            self.category = triage.category.name
        self.upsert(CATEGORY, self.category or "uncategorised")
        self.upsert(SUBCATEGORY, triage.subcategory.code if triage.subcategory else "")
        self.upsert(SAFETY, bool(triage.safety))
        self.changed()

    def triage_note(self) -> str:
        triage = self.triage
        if triage is None:
            return "未分诊"
        item = str(triage.subcategory) if triage.subcategory else "未分类"
        return f"{item} · {triage.direction} · 置信度 {triage.confidence:.2f}"

    def snapshot(self) -> dict:
        if self.merged_into or self.open_error:
            return {}  # a report that joined another incident has no incident row of its own
        triage = self.triage
        fields = {"category": self.category}
        if triage is not None:
            fields |= {
                "category_code": triage.category.code if triage.category else "",
                "subcategory": triage.subcategory.code if triage.subcategory else "",
                "direction": triage.direction,
                "triage_confidence": triage.confidence,
                "needs_review": triage.needs_review and not self.triage_decided,
                "safety": bool(triage.safety),
                "route_unit": triage.route.unit,
                "catalogue_version": triage.catalogue_version,
            }
        progress = IncidentProgress(
            stage=self.stage.value,
            owner=self.owner.value if self.owner else "",
            pushes=self.pushes,
            overdue=self.overdue,
            **fields,
        )
        return {"incident": progress}

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
        waiting = "".join(
            f"\n{d.label}: {d.at.isoformat(timespec='minutes')}" + (" (已超时)" if d.missed else "")
            for d in self.deadlines.values()
        )
        return (
            f"{self.origin.label} → {self.receiver.label} · 阶段 {STAGE_LABELS[self.stage]} "
            f"({self.stage.value}){owner}{late}{triage}{waiting}"
        )

    @workflow.query
    def state(self) -> IncidentState:
        started = self.started_loops
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
            limits_version=self.limits.version if self.limits else "",
            police_workflow_id=loop_workflow_id(self.incident_id, "police")
            if "police" in started
            else "",
            hotline_workflow_id=loop_workflow_id(self.incident_id, "hotline")
            if "hotline" in started
            else "",
            overdue=self.overdue,
            triage=self.triage,
            triage_override=self.triage_override,
            whistles=self.whistles,
            emergencies=self.emergencies,
            police_push_pending=self.police_push_pending,
            merged_into=self.merged_into,
            heard=self.heard,
            loops_done=sorted(self.children_done),
            settled=self._settled >= self._changes or self._finished,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
