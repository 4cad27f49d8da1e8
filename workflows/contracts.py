"""The incident's contracts: what crosses Temporal between the platforms, the client and the
incident workflow (its input, the report submission, its state and its summary).

No workflow, database or HTTP code is imported here, so a platform's client can use these
models without the worker's dependencies. Every model ignores fields it does not know and gives
new fields defaults: histories recorded today must decode in the code of next year.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from linkage.domain.contract import Contract
from linkage.domain.models import (
    DeadlineView,
    IncidentReport,
    Owner,
    Platform,
    Stage,
    TimelineEntry,
    WorkItem,
)
from linkage.domain.triage_result import TriageResult
from workflows.loop_contracts import (
    EmergencyResult,
    HotlineLoopResult,
    PoliceLoopResult,
    WhistleResult,
)

INCIDENT_WORKFLOW = "DivertedIncident"


def slow_queue(task_queue: str) -> str:
    """The task queue of the slow activities (HTTP posts retried for days, the periodic
    reports): a worker runs them in a pool of their own, so they never hold up the records'
    writes and the openings that every action waits for."""
    return f"{task_queue}-slow"


def loop_workflow_id(incident_id: str, loop: str) -> str:
    """A loop, whistle or emergency linkage is reached as `<incident ID>.<loop>`."""
    return f"{incident_id}.{loop}"


def police_case_no(report: IncidentReport) -> str:
    return report.reference if report.origin is Platform.police else f"JQ-{report.reference}"


def work_order_no(report: IncidentReport) -> str:
    return report.reference if report.origin is Platform.hotline else f"GD-{report.reference}"


class IncidentInput(Contract):
    report: IncidentReport
    harassment_case: bool = False  # opened for police because its caller abuses the lines


class Submission(Contract):
    """A report handed to its incident (Update-with-Start on the incident's own ID)."""

    report: IncidentReport


class SubmitAnswer(Contract):
    """What the pushing platform learns: which incident the report is in, and why."""

    incident_id: str
    new: bool
    reports: int = 1  # reports the incident has gathered, this one included
    matched_by: str = ""  # caller | place: it joined another open incident
    resent: bool = False  # the same push again: counted once
    closed: bool = False  # the incident had closed already: nothing started
    harassment_case: str = ""  # a case opened for police because this caller abuses the lines
    stage: Stage | None = None
    refused: str = ""  # the report could not be taken, and why: nothing was started or written
    queued: bool = False  # no worker answered in time: started, it opens once one runs it


class JoinedReport(Contract):
    """Another report of the same matter, told to the open incident it joined."""

    incident_id: str  # the report's own ID (origin-reference)
    origin: Platform
    reference: str
    matched_by: str
    reports: int  # the incident's count, as the records database counted it
    brief: str = ""  # no longer sent: a description may name the caller
    received_at: datetime | None = None  # when its platform received it


class TriageOverride(Contract):
    """A person's decision on triage: who, why, and what it was before."""

    actor: str
    reason: str
    direction_before: str
    subcategory_before: str


class Assessment(Contract):
    """One side's figures for the two-way assessment (双考核)."""

    assessor: str  # police_bureau, command_center, whistle or emergency
    loop: str
    unit: str
    completed: bool
    on_time: bool
    satisfaction: str = ""


class WhistleBrief(Contract):
    number: int
    workflow_id: str
    reason: str
    units: list[str]
    blown_by: str
    closed: bool = False


class EmergencyBrief(Contract):
    number: int
    workflow_id: str
    units: dict[str, str]
    closed: bool = False


class PolicePush(Contract):
    """A police unit pushes the case it handles to the bureau for diversion to 12345."""

    unit: str
    reason: str


class IncidentState(Contract):
    incident_id: str
    origin: Platform
    receiver: Platform
    stage: Stage
    owner: Owner | None
    pushes: int
    divert_reason: str
    dispute_reason: str
    proposals: dict[str, str] = Field(default_factory=dict)  # side → owner it proposes (协商)
    first_receiver_handles: bool
    limits_version: str
    police_workflow_id: str
    hotline_workflow_id: str
    overdue: bool
    triage: TriageResult | None = None
    triage_override: TriageOverride | None = None
    whistles: list[WhistleBrief] = Field(default_factory=list)
    emergencies: list[EmergencyBrief] = Field(default_factory=list)
    police_push_pending: PolicePush | None = None
    merged_into: str = ""
    heard: dict[str, int] = Field(default_factory=dict)  # signals taken from each loop
    loops_done: list[str] = Field(default_factory=list)  # loops whose results it has taken
    settled: bool = True  # it has acted on every change so far
    late: list[WorkItem] = Field(
        default_factory=list, description="every deadline missed and not yet met, its loops' too"
    )
    deadlines: list[DeadlineView] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


class IncidentSummary(Contract):
    incident_id: str
    origin: Platform
    stage: Stage
    owner: Owner | None
    outcome: str
    first_receiver_handles: bool
    triage: TriageResult | None = None
    triage_override: TriageOverride | None = None
    police: PoliceLoopResult | None = None
    hotline: HotlineLoopResult | None = None
    assessments: list[Assessment] = Field(default_factory=list)
    whistles: list[WhistleResult] = Field(default_factory=list)
    emergencies: list[EmergencyResult] = Field(default_factory=list)
    merged_into: str = ""
    timeline: list[TimelineEntry] = Field(default_factory=list)
