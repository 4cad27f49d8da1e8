"""The records: incidents, police cases, work orders, step events and the outbox.

SQLite by default, PostgreSQL when given its URL. Every write is keyed by something the workflow
decides deterministically (the incident ID, the case or order number, the workflow's own event
sequence, the message's idempotency key), so an activity that retries writes the same row again
instead of a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, Column, event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine, select

from linkage.config import ConfigError
from linkage.records import (
    IncidentProgress,
    IncidentRecord,
    OutboxEntry,
    PoliceCaseRecord,
    StepRecord,
    WorkOrderRecord,
)


def _now() -> datetime:
    return datetime.now(UTC)


class Incident(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=60)
    origin: str = Field(index=True, max_length=16)
    reference: str = Field(max_length=40)
    received_at: datetime
    township: str = Field(index=True, max_length=40)
    address: str = Field(max_length=200)
    category: str = Field(default="", max_length=40)
    urgency: str = Field(max_length=16)
    description: str
    divert_reason: str
    originating_unit: str = Field(max_length=80)
    caller_name: str = Field(default="", max_length=64)
    caller_phone: str = Field(max_length=20)
    caller_id_number: str = Field(default="", max_length=32)
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
    action: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    note: str = ""


class OutboxMessage(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=120)  # the idempotency key
    target: str = Field(index=True, max_length=16)  # police | hotline | sms
    kind: str = Field(max_length=24)
    incident_id: str = Field(index=True, max_length=60)
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)  # pending | delivered
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = Field(default_factory=_now)
    delivered_at: datetime | None = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url.removeprefix(scheme)
    if url.startswith("sqlite"):
        # hide_parameters: a failed write's error names no caller's data
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    SQLModel.metadata.create_all(engine)
    _check_schema(engine)
    return engine


TABLES: list[type[SQLModel]] = [Incident, PoliceCase, WorkOrder, StepEvent, OutboxMessage]


class SchemaMismatch(ConfigError):
    """The database holds tables of an older shape than this version of linkage writes."""


def _check_schema(engine: Engine) -> None:
    """Add the columns a newer linkage brought (each has a default, so old rows stay valid);
    refuse at start, naming what differs, anything else, rather than fail writes later."""
    inspector = inspect(engine)
    missing = []
    for model in TABLES:
        table = model.__table__
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            field = model.model_fields.get(column.name)
            default = None if field is None else field.default
            if (default is None and not column.nullable) or default is PydanticUndefined:
                missing.append(f"{table.name}.{column.name}")
                continue
            kind = column.type.compile(engine.dialect)
            literal = "" if default is None else f" DEFAULT {_sql_literal(default)}"
            with engine.begin() as connection:
                connection.execute(
                    text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{literal}')
                )
    if missing:
        raise SchemaMismatch(
            f"the records database {engine.url.render_as_string()} lacks columns "
            f"{', '.join(missing)}: it was made by an older version of linkage; "
            f"migrate it, or point LINKAGE_DATABASE_URL at a new database"
        )


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class Store:
    """The records store; one per process, shared by the activities and the CLI."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def save_incident(self, record: IncidentRecord) -> None:
        """Write a new incident; a retried write finds it there and leaves its progress alone."""
        with Session(self.engine) as session:
            if session.get(Incident, record.id) is None:
                session.add(Incident(**record.model_dump(), updated_at=_now()))
                session.commit()

    def take_report(self, input):
        """Interim: every report opens its own incident (replaced by the claims change)."""
        from linkage.records import TakeReportResult

        self.save_incident(input.record)
        return TakeReportResult(incident_id=input.record.id, new=True)

    def record_steps(self, input) -> None:
        """Interim: one step at a time (replaced by the claims change)."""
        if not input.steps:
            return
        for step in input.steps[:-1]:
            self.record_step(step)
        self.record_step(input.steps[-1], input.incident, input.case, input.order)

    def record_step(
        self,
        step: StepRecord,
        progress: IncidentProgress | None = None,
        case: PoliceCaseRecord | None = None,
        order: WorkOrderRecord | None = None,
    ) -> None:
        """Write one step event and the snapshot it changed, in one transaction.

        Snapshots carry the step's sequence number as their version: writes from steps that ran
        at the same moment may land in any order, and an older one never overwrites a newer.
        """
        with Session(self.engine) as session:
            if session.get(StepEvent, step.id) is None:
                session.add(StepEvent(**step.model_dump()))
            for table, key, snapshot in (
                (Incident, step.incident_id, progress),
                (PoliceCase, case and case.case_no, case),
                (WorkOrder, order and order.order_no, order),
            ):
                if snapshot is None:
                    continue
                # locked (on PostgreSQL) so overlapping retries apply versions in order
                row = session.get(table, key, with_for_update=True)
                if row is None and table is not Incident:
                    session.add(table(**snapshot.model_dump(), updated_at=_now()))
                elif row is not None and row.version <= snapshot.version:
                    for name, value in snapshot.model_dump().items():
                        setattr(row, name, value)
                    row.updated_at = _now()
            session.commit()

    def timeline(self, incident_id: str) -> list[StepEvent]:
        with Session(self.engine) as session:
            query = select(StepEvent).where(StepEvent.incident_id == incident_id)
            return list(session.exec(query.order_by(StepEvent.at, StepEvent.id)))

    def get(self, table: type[SQLModel], key: str):
        with Session(self.engine) as session:
            return session.get(table, key)

    # --- the outbox ---------------------------------------------------------------------------

    def enqueue(self, entry: OutboxEntry) -> OutboxMessage:
        """Add a message once; a retry with the same key returns the row already there."""
        with Session(self.engine) as session:
            row = session.get(OutboxMessage, entry.key)
            if row is None:
                row = OutboxMessage(
                    id=entry.key,
                    target=entry.target,
                    kind=entry.kind,
                    incident_id=entry.incident_id,
                    payload=entry.payload,
                )
                session.add(row)
                session.commit()
                session.refresh(row)
            return row

    def mark_attempt(self, key: str, error: str | None, final: bool = False) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxMessage, key)
            if row is None:
                return
            row.attempts += 1
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", _now(), ""
            else:
                row.last_error = error[:500]
                if final:
                    row.status = "failed"
            session.commit()

    def outbox(
        self, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]:
        with Session(self.engine) as session:
            query = select(OutboxMessage)
            if target:
                query = query.where(OutboxMessage.target == target)
            if status:
                query = query.where(OutboxMessage.status == status)
            query = query.order_by(OutboxMessage.created_at).limit(limit)
            return list(session.exec(query))

    def acknowledge(self, key: str) -> bool:
        """The reading platform confirms it took a message; it is then delivered."""
        with Session(self.engine) as session:
            row = session.get(OutboxMessage, key)
            if row is None:
                return False
            if row.status != "delivered":
                row.status, row.delivered_at = "delivered", _now()
                session.commit()
            return True
