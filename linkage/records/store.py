"""The records: incidents, police cases, work orders, step events, the intake and the outbox.

SQLite by default, PostgreSQL when given its URL; the schema is Alembic's
(linkage.records.migrations), brought up to date when a Store starts. Every write is keyed by
something the workflow decides deterministically (the incident ID, the case or order number, the
workflow's own event sequence, the message's idempotency key), so an activity that retries writes
the same row again instead of a second one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import JSON, Column, case, event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from linkage.domain.record_inputs import (
    OutboxEntry,
    RecordStepInput,
    TakeReportInput,
    TakeReportResult,
)
from linkage.records import audit as _audit  # noqa: F401  (its table is part of the schema)
from linkage.records import intake as intake
from linkage.records import migrations, writer
from linkage.records import tokens as _auth_store  # noqa: F401  (its table is part of the schema)
from linkage.records import work as work
from linkage.records.intake import IntakeClaim, IntakeReport
from linkage.records.keycheck import check_keyring
from linkage.records.migrations import SchemaMismatch, SchemaTooNew
from linkage.records.work import WorkRow
from linkage.records.writer import IMMEDIATE
from linkage.trust.sealed import SealedJSON, SealedText

T = TypeVar("T")

__all__ = [
    "Incident",
    "IntakeClaim",
    "IntakeReport",
    "OutboxMessage",
    "PoliceCase",
    "ProducedReport",
    "SchemaMismatch",
    "SchemaTooNew",
    "StepEvent",
    "Store",
    "WorkRow",
    "WorkOrder",
    "make_engine",
]


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
    divert_reason: str
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
    last_error: str = ""
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


def _sqlite_connect(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is turned off so that _sqlite_begin decides how a
    # transaction starts (and DDL stays inside the migration's transaction).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")  # first, so switching to WAL waits its turn too
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # Writers take the write lock up front: two of them serialise instead of both reading,
    # deciding, and one failing to upgrade its lock halfway.
    immediate = connection.get_execution_options().get(IMMEDIATE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url.removeprefix(scheme)
    if url.startswith("sqlite"):
        # hide_parameters: a failed write's error names no caller's data
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    return engine


TAKE_ATTEMPTS = 5  # a take that lost a race is decided again, this many times at most
RETRY_STATES = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected


def _lost_race(err: Exception) -> bool:
    if isinstance(err, intake.Contended | IntegrityError):
        return True
    if isinstance(err, DBAPIError):
        state = getattr(err.orig, "sqlstate", None)
        return state in RETRY_STATES or "database is locked" in str(err.orig)
    return False


class Store:
    """The records store; one per process, shared by the activities and the CLI."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrations.upgrade(self.engine)
        check_keyring(self.engine)  # a keyring that differs from the district's is refused

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in one write transaction, committed: the one writer path
        (linkage.records.writer), which waits out another process's lock on SQLite."""
        return writer.write(self.engine, work)

    # --- the intake ---------------------------------------------------------------------------

    def take_report(self, input: TakeReportInput) -> TakeReportResult:
        """Decide, in one transaction, whether a report joins an open incident or opens its own;
        a retry of the same report answers what was decided the first time."""
        for attempt in range(TAKE_ATTEMPTS):
            try:
                return self.write(lambda session: self._take(session, input))
            except Exception as err:
                if attempt + 1 == TAKE_ATTEMPTS or not _lost_race(err):
                    raise
        raise AssertionError("unreachable")

    def _take(self, session: Session, input: TakeReportInput) -> TakeReportResult:
        done = intake.stored(session, input.record.id)
        if done is not None and not (input.retake and not done.new):
            return done
        if done is not None:  # it joined an incident that is no longer running
            intake.forget(session, input.record.id, done.incident_id)
        matched = None if input.harassment_case else intake.match(session, input)
        if matched is not None:
            incident_id, matched_by = matched
            row = session.get(Incident, incident_id, with_for_update=True)
            if row is not None:
                row.pushes += 1
                row.updated_at = _now()
                reports = row.pushes
            else:  # its record is gone; its reports still count
                reports = intake.reports_of(session, incident_id) + 1
        else:
            incident_id, matched_by, reports = input.record.id, "", 1
            if session.get(Incident, incident_id) is None:
                record = input.record.model_dump() | {"pushes": 1}
                session.add(Incident(**record, updated_at=_now()))
            if not input.harassment_case:
                intake.claim(session, input)
        report = intake.add_report(session, input, incident_id, matched_by, reports)
        if not input.harassment_case:
            report.harassment_case = intake.watch_caller(session, input)
        return TakeReportResult(
            incident_id=incident_id,
            new=matched is None,
            matched_by=matched_by,
            reports=reports,
            harassment_case=report.harassment_case,
        )

    # --- steps and snapshots ------------------------------------------------------------------

    def record_steps(self, input: RecordStepInput) -> None:
        """Write step events and the snapshots they changed, in one transaction; on close, the
        incident's intake claims are released in the same transaction.

        Snapshots carry their step's sequence number as their version: writes from steps that
        ran at the same moment may land in any order, and an older one never overwrites a newer.
        The report count (pushes) is the intake's: a snapshot never lowers it.
        """
        incident_id = next(
            (
                x.incident_id
                for x in (*input.steps, input.case, input.order, input.work)
                if x is not None
            ),
            None,
        )
        if incident_id is None and (input.incident is not None or input.close):
            raise ValueError("record_steps needs a step (or a case or order) to name its incident")

        def steps(session: Session) -> None:
            if input.steps:
                rows = [step.model_dump() for step in input.steps]
                session.execute(self._insert(StepEvent).values(rows).on_conflict_do_nothing())
            for table, key, snapshot in (
                (Incident, incident_id, input.incident),
                (PoliceCase, input.case and input.case.case_no, input.case),
                (WorkOrder, input.order and input.order.order_no, input.order),
            ):
                if snapshot is not None:
                    self._snapshot(session, table, key, snapshot.model_dump())
            if input.work is not None:
                work.replace(session, input.work)
            if input.close:
                intake.release(session, incident_id)

        self.write(steps)

    def _insert(self, table: type[SQLModel]):
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _snapshot(self, session: Session, table: type[SQLModel], key: str, values: dict) -> None:
        """Apply a snapshot unless a newer one is there already (one UPDATE, which locks the
        row on PostgreSQL); a case's or order's first snapshot makes its row."""
        column = table.__table__.c
        primary = next(iter(table.__table__.primary_key.columns))
        values = values | {"updated_at": _now()}
        if table is Incident:  # the report count is the intake's: never lowered
            pushes = values["pushes"]
            values["pushes"] = case((column.pushes > pushes, column.pushes), else_=pushes)
        changed = session.execute(
            update(table)
            .where(primary == key, column.version <= values["version"])
            .values(**values)
        )
        if changed.rowcount == 0 and table is not Incident:
            session.execute(self._insert(table).values(**values).on_conflict_do_nothing())

    def incidents(self, ids: list[str]) -> list[Incident]:
        with Session(self.engine) as session:
            return list(session.exec(select(Incident).where(Incident.id.in_(ids))))

    def waiting(
        self, incident_ids: list[str] | None = None, units: list[str] | None = None
    ) -> list[WorkRow]:
        """The work queues: what is waiting now, on the given incidents or on the given units."""
        with Session(self.engine) as session:
            return work.waiting(session, incident_ids, units)

    def timeline(self, incident_id: str) -> list[StepEvent]:
        with Session(self.engine) as session:
            query = select(StepEvent).where(StepEvent.incident_id == incident_id)
            return list(session.exec(query.order_by(StepEvent.at, StepEvent.id)))

    def get(self, table: type[SQLModel], key: str):
        with Session(self.engine) as session:
            return session.get(table, key)

    def claims(self, incident_id: str) -> list[IntakeClaim]:
        """The intake claims an incident holds (none once it has closed)."""
        with Session(self.engine) as session:
            query = select(IntakeClaim).where(IntakeClaim.incident_id == incident_id)
            return list(session.exec(query.order_by(IntakeClaim.key)))

    # --- the outbox ---------------------------------------------------------------------------

    def enqueue(self, entry: OutboxEntry) -> OutboxMessage:
        """Add a message once; a retry with the same key returns the row already there."""

        def add(session: Session) -> OutboxMessage:
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
            return row

        return self.write(add)

    def mark_attempt(self, key: str, error: str | None, final: bool = False) -> None:
        """Count a delivery attempt. An error with final=True (an answer that can never
        succeed, e.g. HTTP 4xx) fails the message for good; otherwise it stays pending."""

        def count(session: Session) -> None:
            row = session.get(OutboxMessage, key)
            if row is None:
                return
            row.attempts += 1
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", _now(), ""
            else:
                row.last_error = error[:500]
                if final and row.status != "delivered":
                    row.status, row.failed_at = "failed", _now()

        self.write(count)

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

        def take(session: Session) -> bool:
            row = session.get(OutboxMessage, key)
            if row is None:
                return False
            if row.status != "delivered":
                row.status, row.delivered_at = "delivered", _now()
            return True

        return self.write(take)
