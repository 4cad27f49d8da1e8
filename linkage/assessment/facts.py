"""One row per work order (12345) or police case (110), built from its step events inside the
database: its unit and township, what its snapshot says, and the times its steps were taken.

Apart from the indicators that group them, so that each loop's facts read as one query."""

from __future__ import annotations

from sqlalchemy import func, select

from linkage.assessment.sql import I, P, S, W, _count, _first, in_period
from linkage.domain.periods import Period
from linkage.records.tables import Incident


def order_facts(period: Period, township: str | None = None):
    """One row per work order: its unit and township and the times its steps were taken."""
    steps = (
        select(
            S.incident_id,
            _first("dispatch").label("first_dispatch"),
            _first("dispatch", fn=func.max).label("last_dispatch"),
            _first(("sign", "auto_sign")).label("signed_at"),
            _count(S.action == "auto_sign").label("late_signs"),
            _first("close", fn=func.max).label("closed_at"),
            _count(S.action == "extension_approved").label("extensions"),
            _count(S.action == "supervise").label("supervisions"),
            _count(S.action == "unreachable").label("unreachable"),
        )
        .join(Incident, I.id == S.incident_id)
        .where(S.loop == "hotline", in_period(period))
        .group_by(S.incident_id)
        .subquery()
    )
    query = (
        select(
            W.order_no,
            W.unit,
            I.township,
            W.completed,
            W.on_time,
            W.satisfaction,
            W.reopens,
            W.overdue,
            W.step,
            steps,
        )
        .join(Incident, I.id == W.incident_id)
        .join(steps, steps.c.incident_id == W.incident_id, isouter=True)
        .where(in_period(period))
    )
    if township:
        query = query.where(I.township == township)
    return query.subquery()


def case_facts(period: Period, township: str | None = None):
    steps = (
        select(
            S.incident_id,
            _first("receive").label("received_at"),
            _first("command").label("commanded_at"),
            _first("arrive").label("arrived_at"),
            _first("feedback").label("fed_back_at"),
            _count(S.action == "supervise").label("supervisions"),
        )
        .join(Incident, I.id == S.incident_id)
        .where(S.loop == "police", in_period(period))
        .group_by(S.incident_id)
        .subquery()
    )
    query = (
        select(P.case_no, P.unit, I.township, P.completed, P.on_time, P.overdue, steps)
        .join(Incident, I.id == P.incident_id)
        .join(steps, steps.c.incident_id == P.incident_id, isouter=True)
        .where(in_period(period))
    )
    if township:
        query = query.where(I.township == township)
    return query.subquery()
