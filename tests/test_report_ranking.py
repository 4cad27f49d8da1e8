"""The 红黑榜 and the workbook as the district reads them: only the register's units ranked, a case
without a unit counted apart and named for what it is, scores that follow the table's formula
(deductions included), ties broken as the table documents, names where people read, and an
Excel file a clerk can use as it opens."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from linkage.assessment.reports import produce as reports
from linkage.assessment.scoring import Ranking, ScoreRule, ranked
from linkage.domain.periods import Period
from linkage.domain.record_inputs import RecordStepInput, StepRecord
from linkage.records.store import Store
from tests.assessment_fixture import T0, Month, build

NOVEMBER = Period.parse("monthly", "2026-11")
ON_TIME = [(0, "receive", "receive"), (3, "command", "command"), (8, "arrive", "arrive")]
ON_TIME += [(60, "feedback", "feedback")]


@pytest.fixture
def month(tmp_path) -> Month:
    return Month(Store(f"sqlite:///{tmp_path / 'records.db'}"))


def table(report, key):
    return next(t for t in report.tables if t.key == key)


def test_a_case_not_yet_commanded_is_counted_apart_and_never_on_the_black_list(month, tmp_path):
    for name, unit in (("A", "pcs.huangdai"), ("B", "pcs.huangdai"), ("C", "pcs.weitang")):
        month.incident(name, "hotline", "police", received=T0)
        month.case(name, unit, ON_TIME)
    month.incident("D", "hotline", "police", received=T0, stage="handling")
    month.case("D", "", [(0, "receive", "receive")], completed=False, on_time=False, step="command")
    report = reports.produce(month.store, NOVEMBER, out=tmp_path).report
    rows = table(report, "units_110").rows
    shown = [(r["name"], r["score"], r["rank"], r["list"]) for r in rows]
    assert shown == [
        ("黄埭派出所", 100.0, 1, "红榜"),  # as good, with more cases handled: ahead
        ("渭塘派出所", 100.0, 2, "红榜"),
        ("（尚未指令的警单）", None, None, ""),
    ]
    assert "" not in report.named_units


def test_scores_follow_the_tables_formula_and_a_full_score_is_never_black(tmp_path):
    rule = ScoreRule(
        weights={"on_time_rate": 50, "reopen_rate": 50},
        deductions={"supervisions": 2, "reopened": 5},
    )
    rows = [
        {"key": "a", "orders": 4, "on_time_rate": 1.0, "reopen_rate": 0.0},
        {"key": "b", "orders": 4, "on_time_rate": 1.0, "reopen_rate": 0.25, "reopened": 1},
        {"key": "c", "orders": 2, "on_time_rate": 0.5, "reopen_rate": 0.0, "supervisions": 3},
        {"key": "d", "orders": 1, "on_time_rate": 1.0, "reopen_rate": 0.0},
    ]
    result = ranked(rows, rule, Ranking(red=1, black=2, black_below=90))
    assert [(r["key"], r["score"], r["rank"], r["list"]) for r in result] == [
        ("a", 100.0, 1, "红榜"),
        ("d", 100.0, 2, ""),  # as good as a, fewer orders; at 100 never on the 黑榜
        ("b", 82.5, 3, "黑榜"),  # 50 + 0.75 × 50 = 87.5, less one 重办 × 5
        ("c", 69.0, 4, "黑榜"),  # 25 + 50 = 75, less three 督办 × 2
    ]


def test_units_equal_on_everything_share_their_rank():
    rule = ScoreRule(weights={"satisfaction_rate": 1})
    rows = [{"key": k, "orders": 2, "satisfaction_rate": 1.0} for k in "ab"]
    rows.append({"key": "c", "orders": 2, "satisfaction_rate": 1.0, "supervisions": 1})
    result = {r["key"]: r["rank"] for r in ranked(rows, rule, Ranking(red=1, black=1))}
    assert result == {"a": 1, "b": 1, "c": 3}


def test_the_workbook_holds_numbers_formatted_with_chinese_headers_frozen_and_wide(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'records.db'}")
    build(store)
    made = reports.produce(store, NOVEMBER, out=tmp_path / "out")
    book = load_workbook(made.files["xlsx"])
    overview = book["总体情况"]
    assert overview.freeze_panes == "A3"  # title, header; then the rows scroll
    values = {r[0].value: r[1] for r in overview.iter_rows(min_row=3) if r[0].value}
    rate = values["满意率"]
    assert rate.value == 0.75 and rate.number_format == "0.0%"
    assert isinstance(values["工单数"].value, int)
    units = book["12345 承办单位考核排名"]
    header = [c.value for c in units[3]]
    assert header[:3] == ["单位", "单位代码", "得分"]
    sign = units.cell(row=4, column=header.index("及时签收率") + 1)
    assert sign.value == 0.75 and sign.number_format == "0.0%"
    assert units.freeze_panes == "A4"
    assert units.column_dimensions["A"].width >= 14  # 区城市管理局: six characters, twelve wide
    evidence = book["约谈单位的督办问责依据"]
    header = [c.value for c in evidence[3]]
    assert header[:4] == ["单位", "单位代码", "类别代码", "类别"]
    assert not [h for h in header if re.fullmatch(r"[a-z_]+", str(h))], header


def test_charts_and_timelines_show_names_not_register_codes(month, tmp_path):
    month.incident("A", "police", "hotline", received=T0)
    month.order(
        "A",
        "dept.cgj",
        [(0, "dispatch", "dispatch", "dept.cgj"), (30, "sign", "auto_sign", "dept.cgj")],
        completed=True,
        on_time=False,
    )
    supervised = [  # three: enough for 约谈, so the report carries the unit's evidence
        StepRecord(
            id=f"{month.ids['A']}.hotline#{9 + n}",
            incident_id=month.ids["A"],
            at=T0 + timedelta(hours=40 + 24 * n),
            loop="hotline",
            step="handle",
            action="supervise",
            actor="system",
            note="督办: 派遣至 dept.cgj 的工单处置超时",
            unit="dept.cgj",
        )
        for n in range(3)
    ]
    month.store.record_steps(RecordStepInput(steps=supervised))
    made = reports.produce(month.store, NOVEMBER, out=tmp_path)
    html = Path(made.files["html"]).read_text(encoding="utf-8")
    chart = re.search(r'<svg[^>]*data-table="units_12345".*?</svg>', html, re.S).group(0)
    assert "区城市管理局" in chart and "dept.cgj" not in chart
    notes = [r["note"] for r in table(made.report, "evidence").rows]
    assert "督办: 派遣至 区城市管理局 的工单处置超时" in notes
