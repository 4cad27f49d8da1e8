"""The incident's intake (受理登记): how a report opens its incident, or joins another.

The incident opens in one local activity (the time-limit table, triage, and the intake's
decision in the records database). A report that repeats an open incident (same caller, or the
same place and category within the window) tells that incident and ends at once, merged; a
caller over the harassment rule gets a case of its own for police, which lives on by itself.
The pushing platform's submission is answered once all that is done.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.opening import OpeningActivities
    from linkage.domain.models import IncidentReport, Platform, Urgency
    from linkage.domain.record_inputs import OpenIncidentInput
    from linkage.domain.search_attributes import CATEGORY, INCIDENT, KIND, ORIGIN, REPORTS, TOWNSHIP

from workflows.base import refuse
from workflows.contracts import IncidentInput, JoinedReport, Submission, SubmitAnswer
from workflows.writing import PATIENT_RETRY, refused_for_its_data, until_answered

OPEN_TIMEOUT = timedelta(seconds=60)
OPEN_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=3,
    non_retryable_error_types=["RecordRefused", "ConfigError"],
)
RETAKES = 3  # a report whose matched incident has just ended is taken again
# patch: a district file to mend, or an outage, makes the report wait (its workflow task fails
# and is retried) instead of ending it; a report refused for its data fails its run, so that
# the same reference can be pushed again once mended
INTAKE_WAITS = "intake-faults-wait"
# patch: the system's own note of a repeat report names it by reference and time only, never
# by its description (which may hold the caller's name and phone)
NOTES_WITHOUT_CALLER = "repeat-note-without-caller"


class ConfigurationToMend(Exception):
    """Not a Temporal failure: it fails the workflow task, which the server retries until an
    operator has mended the district's files (the report waits, nothing is lost)."""


class Intake:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    async def _open(self, input: IncidentInput) -> bool:
        """Open in one local activity; False when the incident ends at once (it joined another,
        or its report could not be taken)."""
        for attempt in range(RETAKES):
            opened = await self._take(input, retake=attempt > 0)
            if opened is None:
                return False
            self.limits, self.triage, self.intake = opened.limits, opened.triage, opened.intake
            self._supervision = opened.limits.supervision
            self.unit_names = opened.unit_names
            if opened.intake.new or await self._join(opened.intake):
                break
        intake = self.intake
        self.merged_into = "" if intake.new else intake.incident_id
        self._triaged()
        if intake.harassment_case:
            await self._open_harassment_case(intake.harassment_case)
        self.opened = True  # the submission is answered once the case is opened, if any
        if not intake.new:
            return False
        self.record("triage", "classify", note=f"分诊: {self.triage.reason}")
        return True

    async def _take(self, input: IncidentInput, retake: bool):
        opening = OpenIncidentInput(
            report=input.report,
            stage=self.stage.value,
            at=workflow.now(),
            harassment_case=input.harassment_case,
            retake=retake,
        )
        try:
            return await workflow.execute_local_activity_method(
                OpeningActivities.open_incident,
                opening,
                start_to_close_timeout=OPEN_TIMEOUT,
                retry_policy=OPEN_RETRY,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's own error, too
            failure = err
        if workflow.patched(INTAKE_WAITS):
            cause = failure.cause if isinstance(failure, ActivityError) else failure
            if isinstance(cause, ApplicationError) and cause.type == "ConfigError":
                raise ConfigurationToMend(f"{self.incident_id}: {cause.message}")
            if refused_for_its_data(failure) is None:  # the database is away: wait for it
                return await self._take_patiently(opening)
        cause = failure.cause if isinstance(failure, ActivityError) and failure.cause else failure
        self.open_error = f"受理失败 not taken: {getattr(cause, 'message', cause)}"
        self.opened = True
        return None

    async def _take_patiently(self, opening: OpenIncidentInput):
        """The opening again as an activity the server retries (no history event an attempt),
        a day at a time, until the records database answers."""
        try:
            return await until_answered(
                OpeningActivities.open_incident,
                opening,
                retry=PATIENT_RETRY,  # (no table yet: the default pace)
                summary="记录库不可用，等待受理 waiting for the records database",
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "ConfigError":
                raise ConfigurationToMend(f"{self.incident_id}: {cause.message}") from None
            self.open_error = f"受理失败 not taken: {refused_for_its_data(err)}"
            self.opened = True
            return None

    async def _join(self, intake) -> bool:
        """Tell the open incident this report joined; False when it is not running after all
        (it closed meanwhile, or was ended by hand): the report is then taken again."""
        if workflow.patched(NOTES_WITHOUT_CALLER):
            told = {"received_at": self.report.received_at}
        else:
            told = {"brief": self.report.description[:100]}
        try:
            await workflow.get_external_workflow_handle(intake.incident_id).signal(
                "report_joined",
                JoinedReport(
                    incident_id=self.incident_id,
                    origin=self.origin,
                    reference=self.report.reference,
                    matched_by=intake.matched_by,
                    reports=intake.reports,
                    **told,
                ),
            )
        except Exception:  # noqa: BLE001 - the signal's only failure: no such running workflow
            return False
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
                "DivertedIncident",
                IncidentInput(report=case, harassment_case=True),
                id=case_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(INCIDENT, case_id),
                        SearchAttributePair(KIND, "incident"),
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
        if self.open_error:  # answered, not raised: the incident ends in this same task
            return SubmitAnswer(incident_id=self.incident_id, new=False, refused=self.open_error)
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

    @submit.validator
    def validate_submit(self, submission: Submission) -> None:
        """The same push once more is refused here, so it costs no history event; the refusal
        carries the answer (a re-send's). A changed push past the table's limit, likewise."""
        if not self.submitted or not self.opened:
            return  # the first, or while the incident opens: the handler sorts it out
        if submission.report == self.report:
            raise ApplicationError(
                f"{self.incident_id}: the same push again, counted once",
                self._answer(resent=True).model_dump(mode="json"),
                type="Resent",
                non_retryable=True,
            )
        if self.limits is not None and self.pushes >= self.limits.intake.max_pushes:
            refuse(
                f"{self.incident_id} has had {self.pushes} pushes, the limit: the platform "
                f"pushes no more changes under reference {self.report.reference}"
            )

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
        count = f"重复报告 (第 {max(self.pushes + 1, joined.reports)} 次, {joined.matched_by})"
        if workflow.patched(NOTES_WITHOUT_CALLER):
            at = (joined.received_at or workflow.now()).isoformat(timespec="minutes")
            note = f"{count}: {joined.origin.label} {joined.reference}, 受理于 {at}"
        else:
            note = f"{count}: {joined.origin.label} {joined.reference}: {joined.brief}"
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
