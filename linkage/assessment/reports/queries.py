"""The reports' own lists, each one SQL query: hot spots (category × township), catalogue items,
repeat matters, risk signals, and every dispute with how it was settled."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from linkage.assessment.sql import I, S, in_period
from linkage.domain.periods import Period
from linkage.records.tables import Incident

NOT_MERGED = I.stage != "merged"


def counts_by(conn: Connection, period: Period, *columns) -> dict[tuple, int]:
    query = select(*columns, func.count()).where(in_period(period), NOT_MERGED).group_by(*columns)
    return {tuple(row[:-1]): int(row[-1]) for row in conn.execute(query)}


def hot_spots(conn: Connection, period: Period, minimum: int) -> list[dict]:
    """Category × township this period and the one before, with the change."""
    now = counts_by(conn, period, I.category, I.township)
    before = counts_by(conn, period.previous(), I.category, I.township)
    rows = [
        {
            "category": category or "(未分类)",
            "township": township,
            "count": now.get((category, township), 0),
            "previous": before.get((category, township), 0),
        }
        for category, township in set(now) | set(before)
    ]
    for row in rows:
        row["change"] = row["count"] - row["previous"]
        row["hot"] = "热点" if row["count"] >= minimum else ""
    return sorted(rows, key=lambda r: (-r["count"], -r["change"], r["category"], r["township"]))


def catalogue_items(conn: Connection, period: Period, top: int) -> list[dict]:
    """The most frequent catalogue items (小类), with the change against the period before."""
    now = counts_by(conn, period, I.subcategory, I.category)
    before = counts_by(conn, period.previous(), I.subcategory, I.category)
    rows = [
        {
            "subcategory": sub or "(未分诊)",
            "category": cat or "(未分类)",
            "count": n,
            "previous": before.get((sub, cat), 0),
            "change": n - before.get((sub, cat), 0),
        }
        for (sub, cat), n in now.items()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["subcategory"]))[:top]


def repeat_matters(conn: Connection, period: Period, reports: int) -> list[dict]:
    query = (
        select(I.id, I.township, I.category, I.address, I.pushes, I.stage)
        .where(in_period(period), I.pushes >= reports)
        .order_by(I.pushes.desc(), I.id)
        .limit(200)
    )
    names = ("incident_id", "township", "category", "address", "reports", "stage")
    return [dict(zip(names, row, strict=True)) for row in conn.execute(query)]


RISK_ACTIONS = {
    "blow": "吹哨",
    "emergency_linkage": "应急联动",
    "harassment_case": "恶意骚扰移交",
    "police_linkage": "派警联动",
    "loop_failed": "闭环异常",
    "escalation_failed": "升级异常",
}


def risk_signals(conn: Connection, period: Period) -> list[dict]:
    """Whistles, emergency and police linkages, harassment cases, failures; and the incidents
    still open with a missed deadline."""
    query = (
        select(S.action, S.incident_id, S.at, I.township, I.category, S.note)
        .join(Incident, I.id == S.incident_id)
        .where(
            in_period(period),
            S.action.in_(tuple(RISK_ACTIONS)),
            # a whistle as its own workflow records it; everything else as the incident does
            or_(and_(S.action == "blow", S.loop == "whistle"), S.loop == "incident"),
            or_(S.action != "blow", S.loop == "whistle"),
        )
        .order_by(S.at, S.id)
        .limit(500)
    )
    rows = [
        {
            "signal": RISK_ACTIONS[action],
            "incident_id": iid,
            "at": at,
            "township": township,
            "category": category,
            "note": note,
        }
        for action, iid, at, township, category, note in conn.execute(query)
    ]
    open_late = (
        select(I.id, I.received_at, I.township, I.category, I.stage)
        .where(
            in_period(period),
            I.overdue.is_(True),
            I.stage.not_in(("closed", "withdrawn", "merged")),
        )
        .order_by(I.received_at)
        .limit(500)
    )
    for iid, at, township, category, stage in conn.execute(open_late):
        rows.append(
            {
                "signal": "超时未办结",
                "incident_id": iid,
                "at": at,
                "township": township,
                "category": category,
                "note": f"当前阶段 {stage}",
            }
        )
    return rows


def _steps_of(conn: Connection, period: Period, action: str) -> dict[str, tuple]:
    """Per incident of the period, the first step of an action: (actor, note, at)."""
    query = (
        select(S.incident_id, S.actor, S.note, S.at)
        .join(Incident, I.id == S.incident_id)
        .where(S.action == action, S.loop == "incident", in_period(period))
        .order_by(S.incident_id, S.at.desc(), S.id.desc())
    )
    return {iid: (actor, note, at) for iid, actor, note, at in conn.execute(query)}


def disputes(conn: Connection, period: Period) -> list[dict]:
    """Every dispute of the period: the item, who disputed it and why, who settled it and how."""
    disputed = _steps_of(conn, period, "dispute")
    settled_by = _steps_of(conn, period, "settle")
    fallback = _steps_of(conn, period, "first_receiver_handles")
    if not disputed:
        return []
    query = (
        select(I.id, I.origin, I.subcategory, I.category, I.township, I.owner, I.received_at)
        .where(in_period(period), I.id.in_(select(S.incident_id).where(S.action == "dispute")))
        .order_by(I.subcategory, I.received_at)
    )
    rows = []
    for iid, origin, sub, cat, township, owner, _ in conn.execute(query):
        by, why, _at = disputed[iid]
        if iid in settled_by:
            settler, how, _at = settled_by[iid]
            settled = f"{settler}: {how}"
        elif iid in fallback:
            settled = "协商未果，首接平台先行受理"
        else:
            settled = "协商中"
        rows.append(
            {
                "subcategory": sub or "(未分诊)",
                "category": cat or "(未分类)",
                "incident_id": iid,
                "direction": "110→12345" if origin == "police" else "12345→110",
                "township": township,
                "disputed_by": by,
                "reason": why,
                "settled": settled,
                "owner": owner or "(未定)",
            }
        )
    return rows


def dispute_items(rows: list[dict], again: int = 2) -> list[dict]:
    """Per catalogue item: disputes, how they ended, and the owner to propose (the most frequent
    one the disputes ended with), flagged when the item was disputed `again` times or more."""
    items: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["subcategory"], row["category"])
        item = items.setdefault(
            key,
            {"subcategory": key[0], "category": key[1], "disputes": 0, "owners": {}},
        )
        item["disputes"] += 1
        item["owners"][row["owner"]] = item["owners"].get(row["owner"], 0) + 1
    out = []
    for item in items.values():
        owners = item.pop("owners")
        decided = {k: v for k, v in owners.items() if k != "(未定)"}
        best = max(decided.values(), default=0)
        leaders = sorted(k for k, v in decided.items() if v == best)
        proposal = leaders[0] if len(leaders) == 1 else "(待会商: " + "/".join(leaders) + ")"
        out.append(
            item
            | {
                "police": owners.get("police", 0),
                "hotline": owners.get("hotline", 0),
                "joint": owners.get("joint", 0),
                "open": owners.get("(未定)", 0),
                "again": "反复争议" if item["disputes"] >= again else "",
                "proposed_owner": proposal,
            }
        )
    return sorted(out, key=lambda r: (-r["disputes"], r["subcategory"]))


def monthly_counts(conn: Connection, period: Period) -> dict[str, dict]:
    """Per month of the period: incidents each way (for the year's table)."""
    out = {}
    for month in period.months():
        by_origin = counts_by(conn, month, I.origin)
        out[month.label] = {
            "police_to_hotline": by_origin.get(("police",), 0),
            "hotline_to_police": by_origin.get(("hotline",), 0),
        }
    return out


def owner_counts(conn: Connection, period: Period) -> dict[str, int]:
    query = (
        select(I.owner, func.count())
        .where(in_period(period), NOT_MERGED, and_(I.owner != ""))
        .group_by(I.owner)
    )
    return {owner: int(n) for owner, n in conn.execute(query)}
