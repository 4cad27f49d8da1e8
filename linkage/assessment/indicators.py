"""双考核 indicators of the two loops, computed in the records database with SQL aggregates.

One row per work order (12345) or police case (110) is built from its step events inside the
database, then grouped by the unit, the township or the district; nothing loads incidents into
Python. Works on SQLite and PostgreSQL. Incidents belong to the period they were received in.
Every figure has its definition beside it (DEFINITIONS), shown wherever a person reads it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.engine import Connection

from linkage.assessment.facts import case_facts, order_facts
from linkage.assessment.sql import (
    DISTRICT,
    I,
    S,
    _count,
    _hours,
    _key,
    in_period,
    percentiles,
    rate,
    seconds_between,
)
from linkage.domain.periods import Period
from linkage.records.tables import Incident

DEFINITIONS: dict[str, tuple[str, str]] = {
    "orders": ("工单数", "work orders of incidents received in the period"),
    "timely_sign_rate": ("及时签收率", "signed by the unit before the signing limit / signed"),
    "on_time_rate": (
        "按时办结率",
        "completed with no late sign or missed handling limit / (completed + still open overdue)",
    ),
    "completion_rate": ("办结率", "closed (结案) and not reopened since / work orders"),
    "satisfaction_rate": ("满意率", "satisfied + basically satisfied / revisited"),
    "dissatisfaction_rate": ("不满意率", "dissatisfied (final revisit) / revisited"),
    "return_rate": ("退单率", "returns (退单) by the unit / dispatches to the unit"),
    "reopen_rate": ("重办率", "orders reopened after a dissatisfied revisit / orders closed"),
    "extensions": ("延期", "extensions approved"),
    "supervisions": ("督办", "supervisions after missed deadlines"),
    "unreachable": ("回访未联系上", "revisit attempts that could not reach the citizen"),
    "overdue_open": ("超时未办结", "orders with a missed deadline, still open"),
    "sign_p50_h": ("签收时长中位数(小时)", "dispatch to sign, median (nearest rank)"),
    "sign_p90_h": ("签收时长P90(小时)", "dispatch to sign, 90th percentile (nearest rank)"),
    "complete_p50_h": ("办结时长中位数(小时)", "first dispatch to the last close, median"),
    "complete_p90_h": ("办结时长P90(小时)", "first dispatch to the last close, 90th percentile"),
    "cases": ("警单数", "police cases of incidents received in the period"),
    "police_completion_rate": ("警单办结率", "fed back / police cases"),
    "police_on_time_rate": (
        "警单按时率",
        "fed back with no 指令/到场/反馈 limit missed / (fed back + still open overdue)",
    ),
    "police_supervisions": ("警单督办", "supervisions on police cases"),
    "police_overdue_open": ("警单超时未反馈", "police cases with a missed deadline, still open"),
}


ORDER_COUNTS = (
    "signed",
    "timely_signed",
    "completed",
    "on_time",
    "closed",
    "revisited",
    "satisfied",
    "dissatisfied",
    "reopened",
    "extensions",
    "supervisions",
    "unreachable",
    "overdue_open",
)


def hotline(conn: Connection, period: Period, by: str = "unit", township: str | None = None):
    """The 12345 side per unit, township or the district: one dict per key."""
    dialect = conn.dialect.name
    f = order_facts(period, township)
    c = f.c
    key = _key(f, by)
    revisited = c.satisfaction.in_(("satisfied", "basically_satisfied", "dissatisfied"))
    sign_time = seconds_between(c.signed_at, c.last_dispatch, dialect)
    done_time = seconds_between(c.closed_at, c.first_dispatch, dialect)
    native = dialect == "postgresql"  # percentile_disc is the nearest rank, in the same pass
    quantiles = [
        func.percentile_disc(p).within_group(expr).label(f"{name}_{label}")
        for name, expr in (("sign", sign_time), ("done", done_time))
        for p, label in ((0.5, "p50"), (0.9, "p90"))
        if native
    ]
    rows = conn.execute(
        select(
            key.label("key"),
            func.count().label("orders"),
            _count(c.signed_at.is_not(None)).label("signed"),
            _count(and_(c.signed_at.is_not(None), c.late_signs == 0)).label("timely_signed"),
            _count(c.completed.is_(True)).label("completed"),
            _count(and_(c.completed.is_(True), c.on_time.is_(True))).label("on_time"),
            _count(c.closed_at.is_not(None)).label("closed"),
            _count(revisited).label("revisited"),
            _count(c.satisfaction.in_(("satisfied", "basically_satisfied"))).label("satisfied"),
            _count(c.satisfaction == "dissatisfied").label("dissatisfied"),
            _count(c.reopens > 0).label("reopened"),
            func.coalesce(func.sum(c.extensions), 0).label("extensions"),
            func.coalesce(func.sum(c.supervisions), 0).label("supervisions"),
            func.coalesce(func.sum(c.unreachable), 0).label("unreachable"),
            _count(and_(c.overdue.is_(True), c.step != "done")).label("overdue_open"),
            *quantiles,
        ).group_by(key)
    ).mappings()
    found = {row["key"]: dict(row) for row in rows}
    returns = _returns(conn, period, by, township)
    if native:
        sign = {k: (_hours(r.pop("sign_p50")), _hours(r.pop("sign_p90"))) for k, r in found.items()}
        done = {k: (_hours(r.pop("done_p50")), _hours(r.pop("done_p90"))) for k, r in found.items()}
        # (a percentile of a key with no signed or closed order is NULL, as in the other path)
    else:
        sign = percentiles(conn, f, key, sign_time, c.signed_at.is_not(None))
        done = percentiles(conn, f, key, done_time, c.closed_at.is_not(None))
    for k in returns.keys() - found.keys():  # a unit that returned every order it was sent
        found[k] = {"key": k, "orders": 0} | dict.fromkeys(ORDER_COUNTS, 0)
    out = []
    for k, row in sorted(found.items(), key=lambda kv: str(kv[0])):
        dispatches, returned = returns.get(k, (0, 0))
        out.append(
            row
            | {
                "dispatches": dispatches,
                "returns": returned,
                "timely_sign_rate": rate(row["timely_signed"], row["signed"]),
                # an order left open past its limit counts against the rate, not outside it
                "on_time_rate": rate(row["on_time"], row["completed"] + row["overdue_open"]),
                "completion_rate": rate(row["completed"], row["orders"]),
                "satisfaction_rate": rate(row["satisfied"], row["revisited"]),
                "dissatisfaction_rate": rate(row["dissatisfied"], row["revisited"]),
                "return_rate": rate(returned, dispatches),
                "reopen_rate": rate(row["reopened"], row["closed"]),
                "sign_p50_h": sign.get(k, (None, None))[0],
                "sign_p90_h": sign.get(k, (None, None))[1],
                "complete_p50_h": done.get(k, (None, None))[0],
                "complete_p90_h": done.get(k, (None, None))[1],
            }
        )
    return out


def _returns(conn, period: Period, by: str, township: str | None) -> dict[str, tuple[int, int]]:
    """Dispatches to and returns by each unit, from the steps (a return counts against the unit
    that returned the order, not the one that handled it in the end)."""
    key = {"unit": S.unit, "township": I.township, "district": literal(DISTRICT)}[by]
    query = (
        select(key, _count(S.action == "dispatch"), _count(S.action == "return"))
        .join(Incident, I.id == S.incident_id)
        .where(S.loop == "hotline", S.action.in_(("dispatch", "return")), in_period(period))
        .group_by(key)
    )
    if township:
        query = query.where(I.township == township)
    return {k: (int(d or 0), int(r or 0)) for k, d, r in conn.execute(query)}


def _buckets(column, limits: list[float], unit: str) -> list[tuple[str, Any]]:
    """Count columns for a duration in buckets (≤a, a–b, …, >z) and one for 'not yet'."""
    edges = sorted(limits)
    found, low = [], None
    for edge in edges:
        name = f"≤{edge:g}{unit}" if low is None else f"{low:g}–{edge:g}{unit}"
        cond = column <= edge if low is None else and_(column > low, column <= edge)
        found.append((name, _count(cond)))
        low = edge
    found.append((f">{low:g}{unit}", _count(column > low)))
    found.append(("未发生", _count(column.is_(None))))
    return found


def police(
    conn: Connection,
    period: Period,
    buckets: dict[str, list[float]],
    by: str = "unit",
    township: str | None = None,
):
    """The 110 side per police unit, township or the district, with 指令 / 到场 / 反馈 times in
    the buckets the weekly 110 通报 use."""
    dialect = conn.dialect.name
    f = case_facts(period, township)
    c = f.c
    key = _key(f, by)
    minutes = 60.0
    command = seconds_between(c.commanded_at, c.received_at, dialect) / minutes
    arrive = seconds_between(c.arrived_at, c.commanded_at, dialect) / minutes
    feedback = seconds_between(c.fed_back_at, c.commanded_at, dialect) / 3600.0
    columns = [
        ("command", command, buckets["command_minutes"], "分钟"),
        ("arrive", arrive, buckets["arrive_minutes"], "分钟"),
        ("feedback", feedback, buckets["feedback_hours"], "小时"),
    ]
    selected, names = [], []
    for prefix, expr, limits, unit in columns:
        for name, agg in _buckets(expr, limits, unit):
            label = f"{prefix}:{name}"
            names.append(label)
            selected.append(agg.label(f"b{len(names)}"))
    rows = conn.execute(
        select(
            key.label("key"),
            func.count().label("cases"),
            _count(c.completed.is_(True)).label("completed"),
            _count(and_(c.completed.is_(True), c.on_time.is_(True))).label("on_time"),
            func.coalesce(func.sum(c.supervisions), 0).label("police_supervisions"),
            _count(and_(c.overdue.is_(True), or_(c.completed.is_(False)))).label(
                "police_overdue_open"
            ),
            *selected,
        ).group_by(key)
    ).mappings()
    out = []
    for row in sorted(rows, key=lambda r: str(r["key"])):
        values = dict(row)
        bucketed = {name: int(values.pop(f"b{i}") or 0) for i, name in enumerate(names, 1)}
        out.append(
            values
            | {
                "buckets": bucketed,
                "police_completion_rate": rate(values["completed"], values["cases"]),
                "police_on_time_rate": rate(
                    values["on_time"], values["completed"] + values["police_overdue_open"]
                ),
            }
        )
    return out
