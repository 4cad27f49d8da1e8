"""Inputs of the record and gateway activities: what a workflow asks to be written or sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from linkage.domain.contract import Contract
from linkage.domain.models import IncidentReport, Platform, TimelineEntry, WorkItem
from linkage.domain.time_limits import IntakeLimits, TimeLimits
from linkage.domain.triage_result import TriageResult


class IncidentRecord(Contract):
    id: str
    origin: str
    reference: str
    received_at: datetime
    township: str
    address: str
    category: str
    urgency: str
    description: str
    divert_reason: str
    originating_unit: str
    caller_name: str
    caller_phone: str
    caller_id_number: str
    stage: str
    owner: str = ""
    limits_version: str = ""
    pushes: int = 1
    confidential: bool = False  # 保密: the report's, honoured by the incident's views

    @classmethod
    def from_report(
        cls, report: IncidentReport, stage: str, limits_version: str = "", pushes: int = 1
    ) -> IncidentRecord:
        return cls(
            id=report.incident_id,
            origin=report.origin.value,
            reference=report.reference,
            received_at=report.received_at,
            township=report.location.township,
            address=report.location.address,
            category=report.category,
            urgency=report.urgency.value,
            description=report.description,
            divert_reason=report.divert_reason,
            originating_unit=report.originating_unit,
            caller_name=report.caller.name,
            caller_phone=report.caller.phone,
            caller_id_number=report.caller.id_number,
            confidential=report.confidential,
            stage=stage,
            limits_version=limits_version,
            pushes=pushes,
        )


class StepRecord(Contract):
    id: str
    incident_id: str
    at: datetime
    loop: str
    step: str
    action: str
    actor: str
    note: str
    unit: str = ""

    @classmethod
    def of(cls, workflow_id: str, seq: int, incident_id: str, entry: TimelineEntry) -> StepRecord:
        return cls(id=f"{workflow_id}#{seq}", incident_id=incident_id, **entry.model_dump())


class PoliceCaseRecord(Contract):
    case_no: str
    incident_id: str
    unit: str
    step: str
    overdue: bool
    completed: bool
    on_time: bool | None = None
    version: int = 0


class WorkOrderRecord(Contract):
    order_no: str
    incident_id: str
    unit: str
    step: str
    returns: int
    reopens: int
    overdue: bool
    completed: bool
    on_time: bool | None = None
    satisfaction: str = ""
    version: int = 0


class OpenIncidentInput(Contract):
    """Open an incident in one local activity: the time-limit table, triage, and the intake's
    decision (a new incident, or a repeat of an open one), written in one transaction."""

    report: IncidentReport
    stage: str
    at: datetime  # workflow time: the intake's windows are judged by it
    harassment_case: bool = False
    retake: bool = False  # the incident it joined is not running: decide again


class OpenedIncident(Contract):
    limits: TimeLimits
    triage: TriageResult
    intake: TakeReportResult
    unit_names: dict[str, str] = Field(default_factory=dict)  # the register: code → full name


class IncidentProgress(Contract):
    """What an incident's step changes on its record."""

    stage: str
    owner: str
    pushes: int
    overdue: bool
    category: str = ""
    category_code: str = ""
    subcategory: str = ""
    direction: str = ""
    triage_confidence: float | None = None
    needs_review: bool = False
    safety: bool = False
    route_unit: str = ""
    catalogue_version: str = ""
    model_version: str = ""
    version: int = 0


class WorkList(Contract):
    """Everything one workflow waits on now (the work queues' rows it owns), replacing what it
    waited on before; versioned like the snapshots."""

    workflow_id: str
    incident_id: str
    items: list[WorkItem] = Field(default_factory=list)
    version: int = 0


class RecordStepInput(Contract):
    """Step events, and whichever snapshots they changed, written in one transaction; and the
    messages queued meanwhile, put in the outbox where their target reads it."""

    steps: list[StepRecord] = Field(default_factory=list)
    incident: IncidentProgress | None = None
    case: PoliceCaseRecord | None = None
    order: WorkOrderRecord | None = None
    close: bool = False  # the incident has ended: its intake claims are released in this write
    work: WorkList | None = None  # what the workflow waits on now, when that changed
    outgoing: list[
        Annotated[PushInput | ReplyInput | EmergencyNotice, Field(discriminator="type")]
    ] = Field(default_factory=list)
    incident_id: str = ""  # whose write it is, should it carry no step (older writes: none)


class RecordStepResult(Contract):
    """One receipt per outgoing message: in the outbox, or `queued` for an HTTP post."""

    receipts: list[DeliveryReceipt] = Field(default_factory=list)


# --- the intake (受理登记): decided in the records database, not in a workflow -----------------


class TakeReportInput(Contract):
    """A new report: it joins the open incident it repeats, or opens its own, in one transaction.

    The claim keys are HMACs (linkage.trust.keys), so the claims table holds no number in the clear.
    """

    record: IncidentRecord  # the incident as it opens if the report matches none
    caller_key: str  # HMAC of the normalised phone number
    place_key: str  # HMAC of township, normalised address and category
    fingerprint: str  # hash of the report's content: the same push sent again is one report
    at: datetime  # the decision's time (workflow time, so a retry decides the same)
    rules: IntakeLimits
    harassment_case_id: str = ""  # the case to open if this report tips its caller over the rule
    harassment_case: bool = False  # this report IS such a case: it claims no caller or place
    retake: bool = False  # the incident it joined is not running: release its claims, decide again


class TakeReportResult(Contract):
    incident_id: str  # the incident the report belongs to (its own ID when new)
    new: bool
    matched_by: str = ""  # caller | place, when it joined another incident
    reports: int = 1  # reports the incident has gathered, this one included
    harassment_case: str = ""  # a case to open for police now (恶意骚扰); "" when none


class OutboxEntry(Contract):
    key: str  # idempotency key: the same message is never sent twice
    target: str  # police | hotline | sms
    kind: str  # incident | result | reply
    incident_id: str
    payload: dict[str, Any]


class Outgoing(Contract):
    """What every message carries: its idempotency key, and the step the gateway writes for it
    once it is taken (so the workflow spends no record write of its own on it)."""

    key: str
    incident_id: str
    step_id: str = ""  # "<workflow id>#send-<n>"
    loop: str = "incident"


class PushInput(Outgoing):
    """A push to the other platform (双推送): the incident itself, its result, or a reply copy."""

    type: Literal["push"] = "push"
    target: Platform
    kind: str
    payload: dict[str, Any]


class ReplyInput(Outgoing):
    """A reply to the citizen through the SMS gateway; the number comes from the records, so it
    does not travel through the loop's history. A copy for police goes in the same activity."""

    type: Literal["reply"] = "reply"
    message: str
    police_copy: PushInput | None = None


class EmergencyNotice(Outgoing):
    """A notice to an emergency unit (应急联动): 119, 120, a utility or a department."""

    type: Literal["notice"] = "notice"
    unit_code: str
    unit_name: str
    reason: str
    payload: dict[str, Any]


class DeliveryReceipt(Contract):
    key: str
    target: str
    channel: str  # outbox | http
    status: str  # pending (waiting in the outbox) | delivered
    note: str = ""  # the step as written to the timeline
    at: datetime | None = None  # when it was written (the server's clock, as workflows see it)


# --- the periodic reports (月研判 / 季会商 / 年总结) ------------------------------------------


class ReportRunInput(Contract):
    """What a schedule starts PeriodicReport with; no period means the one that just ended."""

    kind: str
    period: str = ""
    unit: str = ""


class ProduceReportInput(Contract):
    kind: str
    period: str
    unit: str = ""
    produced_by: str = ""


class ProduceReportResult(Contract):
    id: str
    files: dict[str, str]
    notices: list[str] = Field(default_factory=list)  # outbox keys of the 通报 sent
