"""The records: incidents, police cases, work orders, step events, the intake and the outbox.

SQLite by default, PostgreSQL when given its URL; the schema is Alembic's
(linkage.records.migrations), brought up to date when a Store starts. Every write is keyed by
something the workflow decides deterministically (the incident ID, the case or order number, the
workflow's own event sequence, the message's idempotency key), so an activity that retries writes
the same row again instead of a second one.

The tables are linkage.records.tables' and their own helpers' (intake, work, audit, tokens);
importing this module registers every one of them, as the migrations expect."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel, select

from linkage.domain.record_inputs import (
    OutboxEntry,
    RecordStepInput,
    StepRecord,
    TakeReportInput,
    TakeReportResult,
)
from linkage.records import audit as _audit  # noqa: F401  (its table is part of the schema)
from linkage.records import intake as intake
from linkage.records import migrations, steps, writer
from linkage.records import tokens as _auth_store  # noqa: F401  (its table is part of the schema)
from linkage.records import work as work
from linkage.records.engine import make_engine
from linkage.records.intake import IntakeClaim
from linkage.records.keycheck import check_keyring
from linkage.records.tables import Incident, OutboxMessage, StepEvent
from linkage.records.work import WorkRow

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


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

    def record_steps(
        self,
        input: RecordStepInput,
        outbox: Sequence[OutboxEntry] = (),
        sent: Callable[[dict[str, str]], list[StepRecord]] | None = None,
    ) -> dict[str, str]:
        """Write step events, the snapshots they changed and the messages for the outbox, in
        one transaction; on close, the incident's intake claims are released in it too.
        `sent(statuses)` names the steps that say where each message went, from the outbox's
        status of each key (which it returns).

        Snapshots carry their step's sequence number as their version: writes from steps that
        ran at the same moment may land in any order, and an older one never overwrites a newer.
        The report count (pushes) is the intake's: a snapshot never lowers it.
        """

        def all_of_it(conn: Connection) -> dict[str, str]:
            statuses = steps.put_in_outbox(conn, outbox)
            steps.write(conn, input, sent(statuses) if sent else ())
            return statuses

        return writer.write_plain(self.engine, all_of_it)

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

    def caller(self, incident_id: str) -> tuple[str, str] | None:
        """An incident's caller (name, phone), or None when it has no record: the two columns
        alone, so only they are unsealed (a record write tells the logs the name; a reply
        needs the number)."""
        table = Incident.__table__
        query = sa_select(table.c.caller_name, table.c.caller_phone).where(
            table.c.id == incident_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (row[0], row[1])

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
        """Add a message once; a retry with the same key returns the row already there, even
        one another worker's attempt is adding at this moment (it waits for that one)."""

        def add(session: Session) -> OutboxMessage:
            steps.put_in_outbox(session.connection(), [entry])  # the record write's own insert
            return session.get_one(OutboxMessage, entry.key)

        return self.write(add)

    def mark_attempt(self, key: str, error: str | None, final: bool = False) -> None:
        """Count a delivery attempt. An error with final=True (an answer that can never
        succeed, e.g. HTTP 4xx) fails the message for good; otherwise it stays pending."""

        def count(session: Session) -> None:
            # locked: a delivery or an attempt another worker is recording is waited for and
            # counted, never overwritten
            row = session.get(OutboxMessage, key, with_for_update=True)
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
