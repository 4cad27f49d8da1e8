"""The records' own tables: incidents, police cases, work orders, step events, the outbox's
messages and the reports produced.

Apart from the Store that writes them, so that the readers of the records (the indicators, the
reports, the client's lists) name the rows without the store's write paths; the intake's, the
work queues', the audit's and the tokens' tables live with their own helpers. Sensitive text is
sealed at rest (linkage.trust.sealed)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from linkage.trust.sealed import SealedJSON, SealedText


def _now() -> datetime:
    return datetime.now(UTC)


class Incident(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=60)
    origin: str = Field(index=True, max_length=16)
    reference: str = Field(max_length=40)
    received_at: datetime = Field(index=True)
    township: str = Field(index=True, max_length=40)
    address: str = Field(max_length=200)
    category: str = Field(default="", max_length=40)
    urgency: str = Field(max_length=16)
    description: str = Field(sa_type=SealedText)
    divert_reason: str = Field(sa_type=SealedText)
    originating_unit: str = Field(max_length=80)
    # sealed at rest (linkage.trust.sealed): a copy of the database shows no caller
    caller_name: str = Field(default="", sa_type=SealedText)
    caller_phone: str = Field(sa_type=SealedText)
    caller_id_number: str = Field(default="", sa_type=SealedText)
    stage: str = Field(index=True, max_length=24)
    owner: str = Field(default="", max_length=16)
    limits_version: str = Field(default="", max_length=40)
    pushes: int = 1
    overdue: bool = False
    # triage (分诊): the catalogue item, the direction and the unit it was routed to
    category_code: str = Field(default="", max_length=8)
    subcategory: str = Field(default="", index=True, max_length=8)
    direction: str = Field(default="", max_length=8)
    triage_confidence: float | None = None
    needs_review: bool = False
    safety: bool = False
    route_unit: str = Field(default="", max_length=80)
    catalogue_version: str = Field(default="", max_length=40)
    model_version: str = Field(default="", max_length=40)  # the triage model's, "" for none
    confidential: bool = False  # 保密: no handling unit sees the caller (linkage.client.views)
    version: int = 0  # sequence of the step that last wrote the progress fields
    updated_at: datetime = Field(default_factory=_now)


class PoliceCase(SQLModel, table=True):
    case_no: str = Field(primary_key=True, max_length=60)
    incident_id: str = Field(index=True, max_length=60)
    unit: str = Field(default="", max_length=80)
    step: str = Field(max_length=24)
    overdue: bool = False
    completed: bool = False
    on_time: bool | None = None
    version: int = 0
    updated_at: datetime = Field(default_factory=_now)


class WorkOrder(SQLModel, table=True):
    order_no: str = Field(primary_key=True, max_length=60)
    incident_id: str = Field(index=True, max_length=60)
    unit: str = Field(default="", max_length=80)
    step: str = Field(max_length=24)
    returns: int = 0
    reopens: int = 0
    overdue: bool = False
    completed: bool = False
    on_time: bool | None = None
    satisfaction: str = Field(default="", max_length=24)
    version: int = 0
    updated_at: datetime = Field(default_factory=_now)


class StepEvent(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=100)  # "<workflow id>#<sequence>"
    incident_id: str = Field(index=True, max_length=60)
    at: datetime
    loop: str = Field(max_length=16)
    step: str = Field(max_length=24)
    action: str = Field(index=True, max_length=40)
    actor: str = Field(max_length=200)
    note: str = Field(default="", sa_type=SealedText)
    unit: str = Field(default="", max_length=80)  # whom the step counts for or against


class OutboxMessage(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=120)  # the idempotency key
    target: str = Field(index=True, max_length=16)  # police | hotline | sms
    kind: str = Field(max_length=24)
    incident_id: str = Field(index=True, max_length=60)
    payload: dict = Field(sa_column=Column(SealedJSON, nullable=False))
    # pending | delivered | failed (an answer that can never succeed; last_error says which)
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    last_error: str = Field(default="", sa_type=SealedText)  # a gateway may quote
    created_at: datetime = Field(default_factory=_now)
    delivered_at: datetime | None = None
    failed_at: datetime | None = None


class ProducedReport(SQLModel, table=True):
    """A report produced (月研判 / 季会商 / 年总结): once per kind, period and unit."""

    id: str = Field(primary_key=True, max_length=120)  # "<kind>:<period>:<unit>"
    kind: str = Field(index=True, max_length=16)  # monthly | quarterly | annual
    period: str = Field(index=True, max_length=16)  # 2026-11 | 2026-Q4 | 2026
    unit: str = Field(default="", max_length=80)  # "" for the district
    assessment_version: str = Field(default="", max_length=40)
    files: dict = Field(sa_column=Column(JSON, nullable=False))  # format → path
    summary: dict = Field(sa_column=Column(JSON, nullable=False))
    produced_by: str = Field(default="", max_length=120)  # the schedule's run, or "cli"
    produced_at: datetime = Field(default_factory=_now)
