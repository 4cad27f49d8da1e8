"""Indicators of the linkage itself: diversions each way, send-backs, disputes and how they were
settled, 首接先行受理, joint handling, police and emergency linkages, whistles, repeat reports.

Per township or for the district (a diversion belongs to no single unit), from the incidents,
their step events and the intake's reports, with SQL aggregates.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.engine import Connection

from linkage.assessment.sql import DISTRICT, I, S, _count, in_period, percentiles, rate
from linkage.assessment.sql import seconds_between as between
from linkage.domain.periods import Period
from linkage.records.intake import IntakeReport
from linkage.records.tables import Incident

R = IntakeReport.__table__.c

LINKAGE_DEFINITIONS: dict[str, tuple[str, str]] = {
    "incidents": ("分流事件", "incidents received (a repeat that joined one: not counted)"),
    "police_to_hotline": ("110→12345", "incidents pushed by 110 to 12345"),
    "hotline_to_police": ("12345→110", "incidents pushed by 12345 to 110"),
    "sent_back": ("分局退回", "pushes the bureau sent back to the station (退回补正)"),
    "disputed_by_hotline": ("12345 异议", "110's pushes that 12345 disputed"),
    "disputed_by_police": ("110 异议", "12345's pushes that 110 disputed"),
    "settled_police": ("协商定 110", "disputes settled with police as owner"),
    "settled_hotline": ("协商定 12345", "disputes settled with 12345 as owner"),
    "settled_joint": ("协商定会同", "disputes settled as joint handling"),
    "first_receiver": ("首接先行受理", "dispute unsettled or push undeliverable: first receiver"),
    "joint": ("会同处置", "incidents handled by both loops at once"),
    "police_linkage": ("派警联动", "12345 orders whose unit called police to the scene"),
    "emergency_linkages": ("应急联动", "emergency linkages started"),
    "emergency_acks": ("应急确认", "emergency units' acknowledgements"),
    "emergency_unacknowledged": ("应急未确认", "emergency units that had not acknowledged in time"),
    "ack_p50_min": ("确认时长中位数(分钟)", "linkage start to acknowledgement, median"),
    "ack_p90_min": ("确认时长P90(分钟)", "linkage start to acknowledgement, 90th percentile"),
    "whistles": ("吹哨", "whistles blown (by a duty officer or a rule)"),
    "summoned": ("应哨单位", "units summoned whose report-in was due"),
    "reported_on_time": ("按时报到", "summoned units that reported in before the limit"),
    "report_in_rate": ("应哨报到率", "reported in on time / summoned"),
    "same_place": ("一地多报", "reports that joined an open incident at the same place"),
    "same_caller": ("一人多报", "reports that joined an open incident of the same caller"),
    "same_matter": ("一事多报", "incidents reported more than once (any way)"),
    "harassment": ("恶意骚扰", "cases opened for police on a caller over the harassment rule"),
}


def _incidents_with(action: str, loop: str | None = None):
    query = select(S.incident_id).where(S.action == action).distinct()
    if loop:
        query = query.where(S.loop == loop)
    return query


def linkage(conn: Connection, period: Period, by: str = "district") -> list[dict]:
    key = literal(DISTRICT) if by == "district" else I.township
    has = {
        name: I.id.in_(_incidents_with(action, loop))
        for name, action, loop in (
            ("sent_back", "send_back", None),
            ("disputed", "dispute", None),
            ("settled", "settle", None),
            ("first_receiver", "first_receiver_handles", None),
            ("push_failed", "push_failed", None),
            ("police_linkage", "police_linkage", "hotline"),
        )
    }
    rows = conn.execute(
        select(
            key.label("key"),
            _count(I.stage != "merged").label("incidents"),
            _count(and_(I.origin == "police", I.stage != "merged")).label("police_to_hotline"),
            _count(and_(I.origin == "hotline", I.stage != "merged")).label("hotline_to_police"),
            _count(has["sent_back"]).label("sent_back"),
            _count(and_(has["disputed"], I.origin == "police")).label("disputed_by_hotline"),
            _count(and_(has["disputed"], I.origin == "hotline")).label("disputed_by_police"),
            _count(and_(has["settled"], I.owner == "police")).label("settled_police"),
            _count(and_(has["settled"], I.owner == "hotline")).label("settled_hotline"),
            _count(and_(has["settled"], I.owner == "joint")).label("settled_joint"),
            _count(has["first_receiver"] | has["push_failed"]).label("first_receiver"),
            _count(I.owner == "joint").label("joint"),
            _count(has["police_linkage"]).label("police_linkage"),
            _count(I.pushes > 1).label("same_matter"),
        )
        .where(in_period(period))
        .group_by(key)
    ).mappings()
    found = {row["key"]: dict(row) for row in rows}
    for k, extra in _events(conn, period, key).items():
        found.setdefault(k, {"key": k}).update(extra)
    for k, extra in _whistles(conn, period, key).items():
        found.setdefault(k, {"key": k}).update(extra)
    for k, extra in _repeats(conn, period, key).items():
        found.setdefault(k, {"key": k}).update(extra)
    acks = _ack_times(conn, period, key)
    out = []
    for k, row in sorted(found.items(), key=lambda kv: str(kv[0])):
        p50, p90 = acks.get(k, (None, None))
        row["ack_p50_min"] = None if p50 is None else round(p50 * 60, 1)
        row["ack_p90_min"] = None if p90 is None else round(p90 * 60, 1)
        row["report_in_rate"] = rate(row.get("reported_on_time"), row.get("summoned"))
        out.append(row)
    return out


def _events(conn, period: Period, key) -> dict[str, dict]:
    rows = conn.execute(
        select(
            key,
            _count(and_(S.action == "emergency_linkage", S.loop == "incident")),
            _count(and_(S.action == "acknowledge", S.loop == "emergency")),
            _count(and_(S.action == "unacknowledged", S.loop == "emergency")),
            _count(and_(S.action == "blow", S.loop == "whistle")),
            _count(S.action == "harassment_case"),
        )
        .join(Incident, I.id == S.incident_id)
        .where(in_period(period))
        .group_by(key)
    )
    names = ("emergency_linkages", "emergency_acks", "emergency_unacknowledged", "whistles")
    return {
        row[0]: dict(zip((*names, "harassment"), (int(v or 0) for v in row[1:]), strict=True))
        for row in rows
    }


def _whistles(conn, period: Period, key) -> dict[str, dict]:
    """Each summoned unit of an incident's whistles: reported in on time (a report-in and no
    missed step), late, or missed."""
    per_unit = (
        select(
            S.incident_id,
            S.unit,
            func.max(case((S.action == "report_in", 1), else_=0)).label("reported"),
            func.max(case((S.action == "missed", 1), else_=0)).label("missed"),
        )
        .where(S.loop == "whistle", S.action.in_(("report_in", "missed")), S.unit != "")
        .group_by(S.incident_id, S.unit)
        .subquery()
    )
    u = per_unit.c
    rows = conn.execute(
        select(key, func.count(), _count(and_(u.reported == 1, u.missed == 0)))
        .join(Incident, I.id == u.incident_id)
        .where(in_period(period))
        .group_by(key)
    )
    return {k: {"summoned": int(n), "reported_on_time": int(ok or 0)} for k, n, ok in rows}


def _repeats(conn, period: Period, key) -> dict[str, dict]:
    rows = conn.execute(
        select(key, _count(R.matched_by == "place"), _count(R.matched_by == "caller"))
        .join(Incident, I.id == R.incident_id)
        .where(in_period(period))
        .group_by(key)
    )
    return {k: {"same_place": int(p or 0), "same_caller": int(c or 0)} for k, p, c in rows}


def _ack_times(conn, period: Period, key) -> dict[str, tuple]:
    started = (
        select(S.incident_id, func.min(S.at).label("at"))
        .where(S.action == "emergency_linkage", S.loop == "incident")
        .group_by(S.incident_id)
        .subquery()
    )
    acks = (
        select(
            key.label("k"),
            between(S.at, started.c.at, conn.dialect.name).label("d"),
        )
        .join(started, started.c.incident_id == S.incident_id)
        .join(Incident, I.id == S.incident_id)
        .where(S.action == "acknowledge", S.loop == "emergency", in_period(period))
        .subquery()
    )
    return percentiles(conn, acks, acks.c.k, acks.c.d, acks.c.d.is_not(None))
