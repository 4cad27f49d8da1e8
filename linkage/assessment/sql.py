"""The SQL the 双考核 indicators are built from: the records' columns, the period an incident
belongs to, counts, first and last times, durations in either database's arithmetic, and the
median and 90th percentile where the database has no percentile of its own.

Apart from the indicators, so that the linkage figures, the evidence and the reports' lists
count the same way without the two loops' definitions."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.engine import Connection

from linkage.domain.periods import Period
from linkage.records.tables import Incident, PoliceCase, StepEvent, WorkOrder

I = Incident.__table__.c  # noqa: E741
S = StepEvent.__table__.c
W = WorkOrder.__table__.c
P = PoliceCase.__table__.c
DISTRICT = "全区"
DIMENSIONS = ("unit", "township", "district")


def rate(numerator: float | None, denominator: float | None) -> float | None:
    return None if not denominator else round((numerator or 0) / denominator, 4)


def seconds_between(later, earlier, dialect: str):
    """Seconds from one time column to another, in the database's own arithmetic."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def in_period(period: Period):
    """Received within the period. The bounds go in UTC: SQLite keeps times as UTC text and
    compares text, PostgreSQL compares instants either way."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    return and_(I.received_at >= start, I.received_at < end)


def _count(condition) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _first(action, column=S.at, fn=func.min):
    actions = (action,) if isinstance(action, str) else action
    return fn(case((S.action.in_(actions), column)))


def _key(facts, by: str):
    if by == "district":
        return literal(DISTRICT)
    return facts.c.unit if by == "unit" else facts.c.township


def percentiles(conn: Connection, facts, key, duration, where) -> dict[str, tuple]:
    """Median and 90th percentile (nearest rank) of a duration per key, in hours."""
    ranked = (
        select(
            key.label("k"),
            duration.label("d"),
            func.row_number().over(partition_by=key, order_by=duration).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(where)
        .subquery()
    )
    r = ranked.c
    rows = conn.execute(
        select(
            r.k,
            func.min(case((r.rn >= 0.5 * r.n, r.d))),
            func.min(case((r.rn >= 0.9 * r.n, r.d))),
        ).group_by(r.k)
    )
    return {k: (_hours(p50), _hours(p90)) for k, p50, p90 in rows}


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)
