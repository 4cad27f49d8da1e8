"""Indicators against a hand-computed month (tests/assessment_fixture.py), on SQLite and
PostgreSQL; scores and the 红黑榜 from the assessment table."""

from __future__ import annotations

import pytest

from linkage.assessment import indicators
from linkage.assessment import linkage_indicators as indicators_linkage
from linkage.assessment.scoring import Ranking, load_assessment, ranked
from linkage.domain.periods import Period
from linkage.records.store import Store
from linkage.settings.config import ConfigError
from tests.assessment_fixture import CITY, HUANGDAI, WATER, WEITANG, build

NOVEMBER = Period.parse("monthly", "2026-11")
BUCKETS = {"command_minutes": [5, 15], "arrive_minutes": [10, 20, 60], "feedback_hours": [2, 24]}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def month_store(request, tmp_path_factory) -> Store:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path_factory.mktemp('ind') / 'records.db'}")
    else:
        store = Store(request.getfixturevalue("postgres_schema"))
    build(store)
    return store


def by_key(rows):
    return {row["key"]: row for row in rows}


def test_the_12345_side_per_unit(month_store):
    with month_store.engine.connect() as conn:
        rows = by_key(indicators.hotline(conn, NOVEMBER, "unit"))
    city, water = rows[CITY], rows[WATER]
    assert set(rows) == {CITY, WATER}
    assert (city["orders"], city["signed"], city["timely_signed"]) == (5, 4, 3)
    assert city["timely_sign_rate"] == 0.75  # B signed late (auto_sign)
    # E, still open past its handling limit, counts against 按时办结率: 1 / (2 + 1)
    assert (city["completed"], city["on_time"], city["on_time_rate"]) == (2, 1, 0.3333)
    assert city["completion_rate"] == 0.4
    assert (city["revisited"], city["satisfaction_rate"], city["dissatisfaction_rate"]) == (2, 1, 0)
    # 城管 returned C once out of six dispatches to it; the return counts against 城管, not 水务
    assert (city["dispatches"], city["returns"], city["return_rate"]) == (6, 1, 0.1667)
    assert (water["dispatches"], water["returns"], water["return_rate"]) == (2, 0, 0.0)
    assert (city["supervisions"], city["overdue_open"], city["extensions"]) == (1, 1, 0)
    assert (city["sign_p50_h"], city["sign_p90_h"]) == (1.0, 2.0)
    assert (city["complete_p50_h"], city["complete_p90_h"]) == (12.0, 30.0)
    assert (water["orders"], water["timely_sign_rate"], water["on_time_rate"]) == (2, 1.0, 0.5)
    assert (water["satisfaction_rate"], water["dissatisfaction_rate"]) == (0.5, 0.5)
    assert (water["reopened"], water["reopen_rate"], water["extensions"]) == (2, 1.0, 1)
    assert (water["supervisions"], water["unreachable"], water["overdue_open"]) == (2, 1, 0)
    assert (water["sign_p50_h"], water["sign_p90_h"]) == (0.25, 1.0)
    assert (water["complete_p50_h"], water["complete_p90_h"]) == (80.0, 100.0)


def test_the_12345_side_for_the_district_and_a_township(month_store):
    with month_store.engine.connect() as conn:
        (district,) = indicators.hotline(conn, NOVEMBER, "district")
        townships = by_key(indicators.hotline(conn, NOVEMBER, "township"))
        october = indicators.hotline(conn, NOVEMBER.previous(), "district")
    assert district["orders"] == 7 and district["timely_sign_rate"] == 0.8333
    # 2 on time / (4 completed + E open overdue)
    assert (district["on_time_rate"], district["completion_rate"]) == (0.4, 0.5714)
    assert (district["satisfaction_rate"], district["dissatisfaction_rate"]) == (0.75, 0.25)
    assert (district["return_rate"], district["reopen_rate"]) == (0.125, 0.5)
    assert (district["sign_p50_h"], district["sign_p90_h"]) == (1.0, 2.0)
    assert (district["complete_p50_h"], district["complete_p90_h"]) == (30.0, 100.0)
    assert townships["渭塘镇"]["orders"] == 2 and townships["黄埭镇"]["orders"] == 5
    assert [row["orders"] for row in october] == [1]  # M, received on 31 October


def test_the_110_side_with_its_buckets(month_store):
    with month_store.engine.connect() as conn:
        rows = by_key(indicators.police(conn, NOVEMBER, BUCKETS, "unit"))
    huangdai, weitang = rows[HUANGDAI], rows[WEITANG]
    assert (huangdai["cases"], huangdai["police_completion_rate"]) == (2, 1.0)
    assert huangdai["police_on_time_rate"] == 1.0
    b = huangdai["buckets"]
    assert b["command:≤5分钟"] == 2 and b["arrive:≤10分钟"] == 1 and b["arrive:10–20分钟"] == 1
    assert b["feedback:≤2小时"] == 1 and b["feedback:2–24小时"] == 1
    w = weitang["buckets"]
    assert (weitang["cases"], weitang["completed"], weitang["police_completion_rate"]) == (1, 0, 0)
    assert w["command:>15分钟"] == 1 and w["arrive:>60分钟"] == 1 and w["feedback:未发生"] == 1
    assert (weitang["police_supervisions"], weitang["police_overdue_open"]) == (1, 1)


def test_the_linkage_itself(month_store):
    with month_store.engine.connect() as conn:
        (d,) = indicators_linkage.linkage(conn, NOVEMBER, "district")
        townships = by_key(indicators_linkage.linkage(conn, NOVEMBER, "township"))
    assert (d["incidents"], d["police_to_hotline"], d["hotline_to_police"]) == (9, 7, 2)
    assert (d["sent_back"], d["disputed_by_hotline"], d["disputed_by_police"]) == (1, 1, 1)
    assert (d["settled_police"], d["settled_hotline"], d["settled_joint"]) == (1, 0, 0)
    assert (d["first_receiver"], d["joint"], d["police_linkage"]) == (1, 1, 1)
    assert (d["emergency_linkages"], d["emergency_acks"], d["emergency_unacknowledged"]) == (
        1,
        2,
        1,
    )
    assert (d["ack_p50_min"], d["ack_p90_min"]) == (3.0, 15.0)
    assert (d["whistles"], d["summoned"], d["reported_on_time"]) == (1, 3, 1)
    assert d["report_in_rate"] == 0.3333
    assert (d["same_place"], d["same_caller"], d["same_matter"]) == (1, 1, 2)
    assert townships["渭塘镇"]["incidents"] == 2 and townships["渭塘镇"]["whistles"] == 1


def test_units_are_scored_and_ranked_by_the_district_table(month_store):
    table = load_assessment()
    with month_store.engine.connect() as conn:
        rows = indicators.hotline(conn, NOVEMBER, "unit")
    result = ranked(rows, table.score.hotline, Ranking(red=1, black=1))
    assert [(r["key"], r["score"], r["rank"], r["list"]) for r in result] == [
        # 及时签收 0.75×20 + 按时办结 1/(2 done + 1 open overdue)×30 + 办结 0.4×20 + 满意 1.0×30
        # = 63, less 1 督办 × 2 and 1 超时未办结 × 5
        (CITY, 56.0, 1, "红榜"),
        # 1.0×20 + 0.5×30 + 1.0×20 (满意率 0.5 is under its floor of 0.6) = 55, less 2 督办 × 2
        # and 2 重办 × 5
        (WATER, 41.0, 2, "黑榜"),
    ]


def test_a_broken_assessment_table_is_refused_naming_the_field(tmp_path):
    text = (load_assessment.__globals__["config_dir"]() / "assessment.toml").read_text()
    path = tmp_path / "assessment.toml"
    path.write_text(text.replace("satisfaction_rate = 30", "satisfaction = 30"))
    with pytest.raises(ConfigError, match="score.hotline.weights: unknown indicator.*satisfaction"):
        load_assessment(path)
    path.write_text(text.replace("command_minutes = [5, 15]", "command_minutes = [15, 5]"))
    with pytest.raises(ConfigError, match="buckets.command_minutes"):
        load_assessment(path)


def test_evidence_names_the_incident_and_the_step_and_lists_units_for_interview(month_store):
    from linkage.assessment.evidence import evidence as evidence_of
    from linkage.assessment.evidence import interview_list, tally
    from linkage.assessment.scoring import Interview

    with month_store.engine.connect() as conn:
        rows = evidence_of(conn, NOVEMBER, max_returns=2)
        only_city = evidence_of(conn, NOVEMBER, max_returns=2, unit=CITY)
        strict = evidence_of(conn, NOVEMBER, max_returns=1)
    counts = tally(rows)
    assert counts[CITY]["missed_deadline"] == 2  # B signed late, E's handling supervised
    assert counts[CITY]["supervision"] == 1 and counts[CITY]["returns_over_limit"] == 0
    assert counts[WATER]["supervision"] == 2 and counts[WATER]["missed_deadline"] == 1
    assert counts[WATER]["reopened"] == 2  # C and D, each once however many revisits
    assert (
        counts["区公安分局"]["whistle_missed"] == 1 and counts["黄埭镇政府"]["whistle_missed"] == 1
    )
    assert counts["区应急管理局"]["missed_deadline"] == 1
    assert counts[WEITANG]["supervision"] == 1
    assert tally(strict)[CITY]["returns_over_limit"] == 1  # C's one return meets a limit of 1
    assert {r["unit"] for r in only_city} == {CITY}
    late = next(r for r in only_city if r["step"] == "sign")
    assert late["incident_id"].startswith("police-") and late["step_id"].endswith(".hotline#2")
    listed = interview_list(
        rows,
        Interview(
            missed_deadlines=2, supervisions=2, whistle_missed=1, returns_over_limit=1, reopened=2
        ),
    )
    # 区应急管理局 (one unacknowledged notice) and 渭塘派出所 (one supervision) stay under
    assert {u["unit"] for u in listed} == {CITY, WATER, "区公安分局", "黄埭镇政府"}
    assert "重办 2 ≥ 2" in next(u for u in listed if u["unit"] == WATER)["reasons"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_period_runs_from_midnight_in_shanghai(kind, tmp_path):
    from contextlib import nullcontext
    from datetime import datetime

    from tests.assessment_fixture import Month
    from tests.conftest import CST, fresh_schema

    where = nullcontext(f"sqlite:///{tmp_path / 'records.db'}") if kind == "sqlite" else None
    with where or fresh_schema() as url:
        store = Store(url)
        month = Month(store)
        month.incident(
            "late", "police", "hotline", received=datetime(2026, 10, 31, 23, 59, tzinfo=CST)
        )
        month.incident(
            "early", "police", "hotline", received=datetime(2026, 11, 1, 0, 1, tzinfo=CST)
        )
        with store.engine.connect() as conn:
            (october,) = indicators_linkage.linkage(conn, Period.parse("monthly", "2026-10"))
            (november,) = indicators_linkage.linkage(conn, Period.parse("monthly", "2026-11"))
        store.engine.dispose()
    assert (october["incidents"], november["incidents"]) == (1, 1)


def test_a_tie_is_never_split_between_the_lists():
    from linkage.assessment.scoring import ScoreRule

    rule = ScoreRule(weights={"satisfaction_rate": 1})
    rows = [
        {"key": k, "orders": 1, "satisfaction_rate": v}
        for k, v in zip("abcde", [1, 1, 1, 1, 0.7], strict=True)
    ]
    result = {r["key"]: (r["rank"], r["list"]) for r in ranked(rows, rule, Ranking(red=3, black=3))}
    assert result == {
        "a": (1, "红榜"),
        "b": (1, "红榜"),
        "c": (1, "红榜"),
        "d": (1, "红榜"),
        "e": (5, "黑榜"),
    }


def test_a_unit_without_data_for_an_indicator_is_scored_on_the_others():
    from linkage.assessment.scoring import ScoreRule, score

    rule = ScoreRule(weights={"timely_sign_rate": 30, "satisfaction_rate": 70})
    assert score({"orders": 1, "timely_sign_rate": 1.0, "satisfaction_rate": None}, rule) == 100
    assert score({"orders": 1, "timely_sign_rate": 0.5, "satisfaction_rate": 1.0}, rule) == 85
    assert score({"orders": 0, "timely_sign_rate": 1.0}, rule) is None


def test_a_unit_that_returned_every_order_it_was_sent_is_shown(tmp_path):
    from tests.assessment_fixture import CITY, T0, Month

    store = Store(f"sqlite:///{tmp_path / 'records.db'}")
    month = Month(store)
    month.incident("R", "police", "hotline", received=T0)
    month.order(
        "R",
        CITY,
        [
            (0, "dispatch", "dispatch", "区住建局"),
            (1, "sign", "return", "区住建局"),
            (2, "dispatch", "dispatch", CITY),
        ],
        step="sign",
        returns=1,
    )
    with store.engine.connect() as conn:
        rows = by_key(indicators.hotline(conn, NOVEMBER, "unit"))
    assert (rows["区住建局"]["orders"], rows["区住建局"]["return_rate"]) == (0, 1.0)
    assert rows[CITY]["return_rate"] == 0.0
