"""ReportIntake (受理登记): every new report passes here, one at a time.

One workflow for the district serialises the reports, so that two matching reports arriving at
the same moment still end in one incident. A report joins an open incident when it is the same
push again (same origin and reference), comes from the same caller, or concerns the same place
and category within the configured window; otherwise it starts a new DivertedIncident (a child
that lives on by itself). Callers who report more often than the harassment rule allows are
handed to police as a case of their own (恶意骚扰). The intake continues as new before its
history grows long, carrying what it knows.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from linkage.models import IncidentReport, IntakeLimits, Platform, Urgency
    from linkage.temporal import CATEGORY, INCIDENT, ORIGIN, OVERDUE, TOWNSHIP

from workflows.base import RECORD_TIMEOUT
from workflows.incident import DivertedIncident, IncidentInput


def intake_id(task_queue: str) -> str:
    """One intake per task queue: the district's, or a test's own."""
    return f"intake-{task_queue}"


class IntakeEntry(BaseModel):
    incident_id: str
    caller: str  # a hash of the caller's number: no personal data in the intake's history
    place: str
    opened_at: datetime
    reports: int = 1


class IntakeInput(BaseModel):
    entries: list[IntakeEntry] = []
    calls: dict[str, list[datetime]] = {}  # caller hash → recent report times
    harassment_cases: dict[str, str] = {}  # caller hash → its open harassment case
    continue_after: int = 500  # submissions per run; what it knows carries over


class IntakeDecision(BaseModel):
    incident_id: str
    new: bool
    reports: int  # reports the incident has gathered, this one included
    matched_by: str = ""  # reference | caller | place
    harassment_case: str = ""  # a case opened for police because this caller abuses the lines


def caller_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return hashlib.sha256(digits.encode()).hexdigest()[:16]


def place_key(report: IncidentReport) -> str:
    address = re.sub(r"\s+", "", report.location.address)
    return f"{report.location.township}|{address}|{report.category}"


@workflow.defn
class ReportIntake:
    @workflow.init
    def __init__(self, input: IntakeInput) -> None:
        self.entries = {e.incident_id: e for e in input.entries}
        self.calls = input.calls
        self.harassment_cases = input.harassment_cases
        self.submissions = 0
        self.limits: IntakeLimits | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: IntakeInput) -> None:
        limits = await workflow.execute_local_activity_method(
            RecordActivities.time_limits, start_to_close_timeout=RECORD_TIMEOUT
        )
        self.limits = limits.intake
        await workflow.wait_condition(
            lambda: (
                self.submissions >= input.continue_after
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            IntakeInput(
                entries=list(self.entries.values()),
                calls=self.calls,
                harassment_cases=self.harassment_cases,
                continue_after=input.continue_after,
            )
        )

    @workflow.update
    async def submit(self, report: IncidentReport) -> IntakeDecision:
        """One report at a time: the lock keeps two matching reports from both starting one."""
        await workflow.wait_condition(lambda: self.limits is not None)
        async with self.lock:
            return await self._submit(report)

    async def _submit(self, report: IncidentReport) -> IntakeDecision:
        assert self.limits is not None
        self.submissions += 1
        now = workflow.now()
        caller = caller_key(report.caller.phone)
        harassment = await self._watch_caller(caller, report, now)
        matched, how = self._match(report, caller, now)
        if matched is not None:
            try:
                await workflow.get_external_workflow_handle(matched.incident_id).signal(
                    DivertedIncident.push_received, report
                )
            except Exception:
                # It closed before its closing signal reached us: the report starts anew.
                self.entries.pop(matched.incident_id, None)
                if how == "reference":
                    raise self._closed(report) from None
            else:
                matched.reports += 1
                return IntakeDecision(
                    incident_id=matched.incident_id,
                    new=False,
                    reports=matched.reports,
                    matched_by=how,
                    harassment_case=harassment,
                )
        await self._start(report)
        self.entries[report.incident_id] = IntakeEntry(
            incident_id=report.incident_id, caller=caller, place=place_key(report), opened_at=now
        )
        return IntakeDecision(
            incident_id=report.incident_id, new=True, reports=1, harassment_case=harassment
        )

    @workflow.signal
    def incident_closed(self, incident_id: str) -> None:
        """An incident closed: later reports about the same thing start a new one."""
        self.entries.pop(incident_id, None)
        for caller, case in list(self.harassment_cases.items()):
            if case == incident_id:
                del self.harassment_cases[caller]

    @workflow.query
    def open_incidents(self) -> list[IntakeEntry]:
        return list(self.entries.values())

    def _match(
        self, report: IncidentReport, caller: str, now: datetime
    ) -> tuple[IntakeEntry | None, str]:
        assert self.limits is not None
        if report.incident_id in self.entries:
            return self.entries[report.incident_id], "reference"
        window = timedelta(hours=self.limits.repeat_window_hours)
        place = place_key(report)
        for entry in reversed(list(self.entries.values())):
            if entry.caller == caller and entry.incident_id not in self.harassment_cases.values():
                return entry, "caller"
            if entry.place == place and now - entry.opened_at <= window:
                return entry, "place"
        return None, ""

    async def _start(self, report: IncidentReport) -> None:
        receiver = report.origin.other
        where = f"{report.location.township} · {report.category or '待分类'}"
        try:
            await workflow.start_child_workflow(
                DivertedIncident.run,
                IncidentInput(report=report),
                id=report.incident_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(INCIDENT, report.incident_id),
                        SearchAttributePair(ORIGIN, report.origin.value),
                        SearchAttributePair(TOWNSHIP, report.location.township),
                        SearchAttributePair(CATEGORY, report.category or "uncategorised"),
                        SearchAttributePair(OVERDUE, False),
                    ]
                ),
                static_summary=(
                    f"{report.origin.label} → {receiver.label} · {where} · {report.reference}"
                ),
                static_details=(
                    f"**推送原因 reason**: {report.divert_reason}\n\n"
                    f"**紧急程度 urgency**: {report.urgency.value}\n\n"
                    f"**推送单位 from**: {report.originating_unit}"
                ),
            )
        except WorkflowAlreadyStartedError:
            raise self._closed(report) from None

    @staticmethod
    def _closed(report: IncidentReport) -> ApplicationError:
        return ApplicationError(
            f"incident {report.incident_id} was already diverted and has closed; a new report "
            f"needs a new reference",
            type="IncidentClosed",
            non_retryable=True,
        )

    async def _watch_caller(self, caller: str, report: IncidentReport, now: datetime) -> str:
        """Count this caller's reports; past the rule, open a harassment case for police."""
        assert self.limits is not None
        window = timedelta(hours=self.limits.harassment_window_hours)
        recent = [t for t in self.calls.get(caller, []) if now - t <= window] + [now]
        self.calls[caller] = recent
        if len(recent) < self.limits.harassment_reports or caller in self.harassment_cases:
            return ""
        case = IncidentReport(
            origin=Platform.hotline,
            reference=f"SR{caller[:10].upper()}{now.strftime('%y%m%d%H%M')}",
            received_at=now,
            caller=report.caller,
            location=report.location,
            description=(
                f"恶意骚扰: 同一来电人 {self.limits.harassment_window_hours:g} 小时内报警/"
                f"来电 {len(recent)} 次，最近一次: {report.description[:200]}"
            ),
            divert_reason="反复滋扰 12345 与 110 平台，由公安机关依法调查处理",
            urgency=Urgency.routine,
            originating_unit="区12345热线",
            category="违法犯罪类",
        )
        try:
            await self._start(case)
        except ApplicationError:  # such a case exists already: the report itself goes on
            return ""
        self.harassment_cases[caller] = case.incident_id
        self.entries[case.incident_id] = IntakeEntry(
            incident_id=case.incident_id, caller=caller, place=place_key(case), opened_at=now
        )
        return case.incident_id
