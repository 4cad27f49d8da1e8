"""Supervision and accountability evidence (督办, 约谈, 问责): per unit, every step that counts
against it, with the incident and the timeline entry it comes from; and the units a period's
evidence puts over the district's thresholds, listed for 约谈 (约谈提醒).

Kinds: a missed deadline (signed late by the limit, a police or 12345 deadline supervised for
the first time, an emergency notice unacknowledged), every supervision (督办), a whistle's
report-in missed, an order returned as often as the limit allows, an order reopened.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from linkage.assessment.scoring import Interview
from linkage.assessment.sql import I, S, W, in_period
from linkage.domain.periods import Period
from linkage.records.tables import Incident, WorkOrder

KINDS = {
    "missed_deadline": "超时 (时限已过)",
    "supervision": "督办",
    "whistle_missed": "应哨未按时报到",
    "returns_over_limit": "退单达上限",
    "reopened": "重办",
}
COLUMNS = ("unit", "kind", "label", "incident_id", "step_id", "at", "loop", "step", "note")
HEADINGS = {
    "unit": "单位代码",
    "kind": "类别代码",
    "label": "类别",
    "incident_id": "事件",
    "step_id": "时间线条目",
    "at": "时间",
    "loop": "环节",
    "step": "步骤",
    "note": "说明",
}


def evidence(
    conn: Connection,
    period: Period,
    max_returns: int,
    unit: str | None = None,
) -> list[dict]:
    """Every step that counts against a unit in the period, oldest first."""
    kind = case(
        (S.action.in_(("auto_sign", "unacknowledged")), "missed_deadline"),
        (S.action == "supervise", "supervision"),
        (S.action == "missed", "whistle_missed"),
        (S.action == "return", "returns_over_limit"),
        else_="reopened",
    ).label("kind")
    unit_of = func.coalesce(func.nullif(S.unit, ""), W.unit, "").label("unit")
    query = (
        select(unit_of, kind, S.incident_id, S.id, S.at, S.loop, S.step, S.note)
        .join(Incident, I.id == S.incident_id)
        .join(WorkOrder, and_(W.incident_id == S.incident_id, S.loop == "hotline"), isouter=True)
        .where(
            in_period(period),
            or_(
                S.action.in_(("auto_sign", "supervise")),
                and_(S.action == "unacknowledged", S.loop == "emergency"),
                and_(S.action == "missed", S.loop == "whistle"),
                and_(S.action == "return", S.loop == "hotline", W.returns >= max_returns),
                and_(S.action == "dissatisfied", S.loop == "hotline", W.reopens > 0),
            ),
        )
        .order_by(S.at, S.id)
    )
    if unit:
        query = query.where(unit_of == unit)
    rows = []
    for u, k, incident_id, step_id, at, loop, step, note in conn.execute(query):
        rows.append(
            {
                "unit": u or "(平台)",
                "kind": k,
                "label": KINDS[k],
                "incident_id": incident_id,
                "step_id": step_id,
                "at": at,
                "loop": loop,
                "step": step,
                "note": note,
            }
        )
    return _first_supervisions_are_missed_deadlines(rows)


def _first_supervisions_are_missed_deadlines(rows: list[dict]) -> list[dict]:
    """A deadline's first supervision is also the evidence that it was missed."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for row in rows:
        out.append(row)
        if row["kind"] == "supervision":
            key = (row["incident_id"], row["loop"], row["step"])
            if key not in seen:
                seen.add(key)
                out.append(row | {"kind": "missed_deadline", "label": KINDS["missed_deadline"]})
    return out


def tally(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Per unit, how many of each kind (an order counts once for returns over the limit and
    for reopening, however many steps show it)."""
    counts: dict[str, dict[str, int]] = {}
    once: set[tuple[str, str, str]] = set()
    for row in rows:
        if row["kind"] in ("returns_over_limit", "reopened"):
            key = (row["unit"], row["kind"], row["incident_id"])
            if key in once:
                continue
            once.add(key)
        unit = counts.setdefault(row["unit"], dict.fromkeys(KINDS, 0))
        unit[row["kind"]] += 1
    return counts


def interview_list(rows: list[dict], thresholds: Interview) -> list[dict]:
    """The units at or over any threshold in the period, with what put them there."""
    limits = {
        "missed_deadline": thresholds.missed_deadlines,
        "supervision": thresholds.supervisions,
        "whistle_missed": thresholds.whistle_missed,
        "returns_over_limit": thresholds.returns_over_limit,
        "reopened": thresholds.reopened,
    }
    listed = []
    for unit, counts in sorted(tally(rows).items()):
        if unit == "(平台)":
            continue
        over = [f"{KINDS[k]} {counts[k]} ≥ {limits[k]}" for k in KINDS if counts[k] >= limits[k]]
        if over:
            listed.append({"unit": unit, **counts, "reasons": "；".join(over)})
    return listed
