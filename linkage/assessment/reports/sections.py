"""The sections every periodic review carries, whatever its period: the district's figures
(一、总体情况), the units ranked on either side (红黑榜) and the accountability list with its
evidence (约谈提醒). A Builder holds what they read (the connection, the assessment table, the
unit register) and scopes them to a unit when the review is a unit's own.

Apart from the reviews' own builders (linkage.assessment.reports.builders), which add what a
month, a quarter or a year shows besides."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from linkage.assessment import evidence as ev
from linkage.assessment import indicators as ind
from linkage.assessment.linkage_indicators import LINKAGE_DEFINITIONS, linkage
from linkage.assessment.reports.model import Chart, Report, Table
from linkage.assessment.scoring import LOWER_IS_BETTER, AssessmentTable, ScoreRule, ranked
from linkage.domain.periods import KIND_LABELS, Period
from linkage.domain.units import load_register
from linkage.settings.config import ConfigError

DEFINITIONS = ind.DEFINITIONS | LINKAGE_DEFINITIONS
UNIT = [("name", "单位"), ("key", "单位代码")]
# what a row without a unit of the register is, by side: counted apart, never ranked
UNASSIGNED = {"hotline": "（尚未派遣的工单）", "police": "（尚未指令的警单）"}
HOTLINE_COLUMNS = [
    (k, ind.DEFINITIONS[k][0])
    for k in (
        "orders",
        "timely_sign_rate",
        "on_time_rate",
        "completion_rate",
        "satisfaction_rate",
        "dissatisfaction_rate",
        "return_rate",
        "reopen_rate",
        "extensions",
        "supervisions",
        "overdue_open",
        "sign_p50_h",
        "sign_p90_h",
        "complete_p50_h",
        "complete_p90_h",
    )
]
POLICE_COLUMNS = [
    (k, ind.DEFINITIONS[k][0])
    for k in (
        "cases",
        "police_completion_rate",
        "police_on_time_rate",
        "police_supervisions",
        "police_overdue_open",
    )
]
SCORE = [("score", "得分"), ("rank", "排名"), ("list", "红黑榜")]
OVERVIEW = [("label", "指标"), ("value", "数值"), ("definition", "口径")]
LINKAGE_KEYS = list(LINKAGE_DEFINITIONS)
EVIDENCE_ROWS = 500


def _overview(hotline: dict, police: dict, link: dict) -> list[dict]:
    rows = []
    for source, keys in (
        (hotline, [k for k, _ in HOTLINE_COLUMNS]),
        (police, [k for k, _ in POLICE_COLUMNS]),
        (link, LINKAGE_KEYS),
    ):
        for key in keys:
            label, definition = DEFINITIONS[key]
            value = source.get(key)  # a number: rates shown as percentages (model.is_rate)
            rows.append({"key": key, "label": label, "value": value, "definition": definition})
    return rows


def _one(rows: list[dict]) -> dict:
    return rows[0] if rows else {}


class Builder:
    def __init__(
        self, conn: Connection, table: AssessmentTable, max_returns: int, unit: str = ""
    ) -> None:
        self.conn, self.table, self.max_returns, self.unit = conn, table, max_returns, unit
        try:
            self.register = load_register()
        except ConfigError:  # no register: units are shown as they are stored
            self.register = None

    def name_of(self, code: str) -> str:
        return self.register.name_of(code) if self.register is not None else code

    def _units_ranked(self, rows: list[dict], side: str) -> list[dict]:
        """The register's units ranked; a row of no unit (an order not yet dispatched, a case
        not yet commanded) or of a name the register does not know is shown after them, apart
        and named for what it is, never ranked."""
        score, ranking = self.table.score, self.table.ranking
        known = [r for r in rows if self._known(r["key"])]
        apart = [r for r in rows if not self._known(r["key"])]
        out = ranked(known, getattr(score, side), ranking, side)
        for row in out:  # stored by the register's code (or an older name)
            row["name"] = self.name_of(row["key"])
        for row in apart:
            name = f"{row['key']}（不在单位名录）" if row["key"] else UNASSIGNED[side]
            out.append(row | {"name": name, "score": None, "rank": None, "list": ""})
        return out

    def _known(self, key: str) -> bool:
        if self.register is None:
            return bool(key)
        return self.register.find(key) is not None if key else False

    def _report(self, period: Period) -> Report:
        who = f" · {self.unit}" if self.unit else ""
        return Report(
            kind=period.kind,
            period=period.label,
            title=f"12345 与 110 对接联动 {period.title}{KIND_LABELS[period.kind]}{who}",
            unit=self.unit,
            assessment_version=self.table.version,
            produced_at=datetime.now(UTC),
            definitions=DEFINITIONS,
        )

    def _mine(self, rows: list[dict], key: str = "key") -> list[dict]:
        return [r for r in rows if r[key] == self.unit] if self.unit else rows

    def figures(self, period: Period) -> tuple[dict, dict, dict]:
        hotline = _one(ind.hotline(self.conn, period, "district"))
        police = _one(ind.police(self.conn, period, self._buckets(), "district"))
        return hotline, police, _one(linkage(self.conn, period, "district"))

    def _buckets(self) -> dict[str, list[float]]:
        return self.table.buckets.model_dump()

    def overview(self, report: Report, period: Period) -> None:
        hotline, police, link = self.figures(period)
        report.summary = {
            k: v
            for k, v in (hotline | police | link).items()
            if k in DEFINITIONS and not isinstance(v, dict)
        }
        report.tables.append(
            Table("overview", "一、总体情况 (全区)", OVERVIEW, _overview(hotline, police, link))
        )

    def rankings(self, report: Report, period: Period, number: str) -> None:
        score = self.table.score
        hotline = self._units_ranked(ind.hotline(self.conn, period, "unit"), "hotline")
        police_rows = ind.police(self.conn, period, self._buckets(), "unit")
        police = self._units_ranked(police_rows, "police")
        bucket_names = list(police_rows[0]["buckets"]) if police_rows else []
        for row in police:
            row.update(row.pop("buckets", {}))
        report.tables.append(
            Table(
                "units_12345",
                f"{number}、12345 承办单位考核排名 (红黑榜)",
                UNIT + SCORE + HOTLINE_COLUMNS,
                self._mine(hotline),
                note=_weights_note(score.hotline),
                chart=Chart("name", "score", "得分"),
            )
        )
        report.tables.append(
            Table(
                "units_110",
                f"{number}(二)、110 处警单位考核与时效 (指令/到场/反馈)",
                UNIT + SCORE + POLICE_COLUMNS + [(b, b) for b in bucket_names],
                self._mine(police),
                note=_weights_note(score.police),
                chart=Chart("name", "score", "得分"),
            )
        )
        report.named_units += [
            r["key"] for r in hotline + police if r.get("list") == "黑榜" and r["key"]
        ]

    def accountability(self, report: Report, period: Period, number: str) -> None:
        rows = ev.evidence(self.conn, period, self.max_returns, self.unit or None)
        listed = ev.interview_list(rows, self.table.interview)
        for row in rows + listed:
            row["name"] = self.name_of(row["unit"])
        for row in rows:
            if self.register is not None:
                row["note"] = self.register.humanize(row["note"] or "")
        report.tables.append(
            Table(
                "interview",
                f"{number}、约谈提醒名单",
                [("name", "单位"), ("unit", "单位代码"), *ev.KINDS.items(), ("reasons", "原因")],
                listed,
                note="一个考核期内达到 assessment.toml [interview] 任一阈值的单位",
            )
        )
        # the document carries the evidence of the units listed, up to EVIDENCE_ROWS; the
        # whole list is `linkage report evidence`, so a big month costs the report no more
        listed_units = {u["unit"] for u in listed}
        shown = [r for r in rows if r["unit"] in listed_units][:EVIDENCE_ROWS]
        report.tables.append(
            Table(
                "evidence",
                f"{number}(二)、约谈单位的督办问责依据 (逐条)",
                [("name", "单位"), *((c, ev.HEADINGS[c]) for c in ev.COLUMNS)],
                shown,
                note=f"每条依据均指向事件及其时间线条目 (step_id)；共 {len(rows)} 条，此处列出"
                f"约谈单位的 {len(shown)} 条；全部: linkage report evidence --period "
                f"{period.label}",
            )
        )
        report.named_units += [u["unit"] for u in listed]
        report.summary["interview_units"] = len(listed)


COUNT_LABELS = {
    "supervisions": "督办",
    "overdue_open": "超时未办结",
    "reopened": "重办",
    "returns": "退单",
    "extensions": "延期",
    "police_supervisions": "督办",
    "police_overdue_open": "超时未反馈",
}


def _weights_note(rule: ScoreRule) -> str:
    parts = [
        f"{ind.DEFINITIONS[k][0]}{'(反向)' if k in LOWER_IS_BETTER else ''} {w:g}"
        for k, w in rule.weights.items()
    ]
    low = [f"{ind.DEFINITIONS[k][0]} ≥ {v:.0%}" for k, v in rule.floors.items()]
    off = [f"{COUNT_LABELS[k]} 每次 −{v:g}" for k, v in rule.deductions.items() if v]
    return (
        "得分 = 加权 "
        + " / ".join(parts)
        + (f"；底线 {'，'.join(low)}" if low else "")
        + (f"；扣分 {'，'.join(off)}" if off else "")
        + "；同分依次比督办、超时少者，再比办件多者；未派遣、未指令的件另列，不参与排名"
    )
