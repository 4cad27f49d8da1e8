"""The intake's part of the records (受理登记): claims and the reports taken.

An open incident holds claims on its caller (`caller:<key>`) and its place (`place:<key>`), and
a caller over the harassment rule is claimed by the case opened for police
(`harassment:<key>`). The claim key is the primary key, so of two reports that race to open an
incident for the same caller or place only one can insert it; the other rolls back and, decided
again, joins the winner. Closing an incident releases its claims (Store.record_steps).

These helpers run inside the transaction Store.take_report opens; they never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Index, delete, func, update
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, select

from linkage.domain.record_inputs import TakeReportInput, TakeReportResult
from linkage.trust.sealed import SealedText


class UTCDateTime(TypeDecorator):
    """A time stored in UTC and read back aware: SQLite keeps no offset, and windows are
    compared in SQL, so every value must be in one zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else utc(value)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IntakeClaim(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=80)  # caller:… | place:… | harassment:…
    incident_id: str = Field(index=True, max_length=60)
    opened_at: datetime = Field(sa_type=UTCDateTime)


class IntakeReport(SQLModel, table=True):
    """One report taken, with the decision taken for it; the caller's data as this report gave
    it (a report that joined another incident may come from someone else)."""

    # harassment counts a caller's recent reports
    __table_args__ = (Index("ix_intakereport_caller_taken", "caller_key", "taken_at"),)

    id: str = Field(primary_key=True, max_length=60)  # the incident ID it would open
    incident_id: str = Field(index=True, max_length=60)
    matched_by: str = Field(max_length=8)  # caller | place | "" (it opened its own)
    reports: int  # the incident's count of reports once this one was taken
    harassment_case: str = Field(max_length=60)  # the case this report opened for police
    is_harassment_case: bool  # the report is itself such a case: it counts for no caller
    fingerprint: str = Field(max_length=64)
    caller_key: str = Field(max_length=64)
    place_key: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    caller_name: str = Field(sa_type=SealedText)  # sealed at rest (linkage.trust.sealed)
    caller_phone: str = Field(sa_type=SealedText)
    caller_id_number: str = Field(sa_type=SealedText)
    description: str = Field(sa_type=SealedText)


class Contended(Exception):
    """Another transaction took a claim this one meant to take: decide again."""


def stored(session: Session, report_id: str) -> TakeReportResult | None:
    row = session.get(IntakeReport, report_id)
    if row is None:
        return None
    return TakeReportResult(
        incident_id=row.incident_id,
        new=row.incident_id == row.id,
        matched_by=row.matched_by,
        reports=row.reports,
        harassment_case=row.harassment_case,
    )


def match(session: Session, input: TakeReportInput) -> tuple[str, str] | None:
    """The open incident this report repeats, and how: its caller's, else its place's within
    the window. Claims are read locked (PostgreSQL), so a close cannot release one under us."""
    caller = session.get(IntakeClaim, f"caller:{input.caller_key}", with_for_update=True)
    if caller is not None:
        return caller.incident_id, "caller"
    place = session.get(IntakeClaim, f"place:{input.place_key}", with_for_update=True)
    if place is not None and place.opened_at >= _since(input, input.rules.repeat_window_hours):
        return place.incident_id, "place"
    return None


def claim(session: Session, input: TakeReportInput) -> None:
    """Claim this report's caller and place for the incident it opens. A place claim older
    than the window is taken over; if another transaction took it first, Contended."""
    at = utc(input.at)
    incident_id = input.record.id
    caller = IntakeClaim(key=f"caller:{input.caller_key}", incident_id=incident_id, opened_at=at)
    session.add(caller)
    place = f"place:{input.place_key}"
    if session.get(IntakeClaim, place) is None:
        session.add(IntakeClaim(key=place, incident_id=incident_id, opened_at=at))
        session.flush()
        return
    session.flush()
    taken = session.execute(
        update(IntakeClaim)
        .where(IntakeClaim.key == place)
        .where(IntakeClaim.opened_at < _since(input, input.rules.repeat_window_hours))
        .values(incident_id=incident_id, opened_at=at)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Contended(place)


def add_report(
    session: Session, input: TakeReportInput, incident_id: str, matched_by: str, reports: int
) -> IntakeReport:
    record = input.record
    row = IntakeReport(
        id=record.id,
        incident_id=incident_id,
        matched_by=matched_by,
        reports=reports,
        harassment_case="",
        is_harassment_case=input.harassment_case,
        fingerprint=input.fingerprint,
        caller_key=input.caller_key,
        place_key=input.place_key,
        received_at=record.received_at,
        taken_at=input.at,
        caller_name=record.caller_name,
        caller_phone=record.caller_phone,
        caller_id_number=record.caller_id_number,
        description=record.description,
    )
    session.add(row)
    session.flush()
    return row


def reports_of(session: Session, incident_id: str) -> int:
    query = select(func.count()).select_from(IntakeReport)
    return session.exec(query.where(IntakeReport.incident_id == incident_id)).one()


def watch_caller(session: Session, input: TakeReportInput) -> str:
    """Count the caller's reports in the harassment window (this one included); at the rule,
    claim the caller for the case to open, once until that case closes."""
    if not input.harassment_case_id:
        return ""
    rules = input.rules
    recent = session.exec(
        select(func.count())
        .select_from(IntakeReport)
        .where(IntakeReport.caller_key == input.caller_key)
        .where(IntakeReport.is_harassment_case == False)  # noqa: E712
        .where(IntakeReport.taken_at >= _since(input, rules.harassment_window_hours))
    ).one()
    key = f"harassment:{input.caller_key}"
    if recent < rules.harassment_reports or session.get(IntakeClaim, key) is not None:
        return ""
    session.add(IntakeClaim(key=key, incident_id=input.harassment_case_id, opened_at=input.at))
    session.flush()
    return input.harassment_case_id


def release(conn: Session | Connection, incident_id: str) -> None:
    """An incident closed: later reports about its caller or place open a new one."""
    claims = IntakeClaim.__table__
    conn.execute(delete(claims).where(claims.c.incident_id == incident_id))


def forget(session: Session, report_id: str, joined: str) -> None:
    """A report joined an incident that is not running after all (it closed meanwhile, or was
    ended by hand without closing): its claims go, and the report is decided again."""
    release(session, joined)
    row = session.get(IntakeReport, report_id)
    if row is not None:
        session.delete(row)
    session.flush()


def _since(input: TakeReportInput, hours: float) -> datetime:
    return utc(input.at) - timedelta(hours=hours)
