"""The periodic reports on the hand-computed month: their tables, the files (HTML that opens
offline in headless Chromium with its charts drawn, Excel, JSON) and their record."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from temporalio.service import RPCError

from linkage.assessment.reports import produce as reports
from linkage.domain.periods import Period
from linkage.records.store import Store
from tests.assessment_fixture import CITY, WATER, build
from tests.conftest import chromium


@pytest.fixture(scope="module")
def month_store(tmp_path_factory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('rep') / 'records.db'}")
    build(store)
    return store


def table(report, key):
    return next(t for t in report.tables if t.key == key)


def test_the_monthly_review_has_hot_spots_against_last_month_and_the_units_ranked(
    month_store, tmp_path
):
    made = reports.produce(month_store, Period.parse("monthly", "2026-11"), out=tmp_path)
    report = made.report
    spots = {(r["category"], r["township"]): r for r in table(report, "hot_spots").rows}
    assert spots[("市容管理", "黄埭镇")] | {} == {
        "category": "市容管理",
        "township": "黄埭镇",
        "count": 2,
        "previous": 1,  # M, received on 31 October
        "change": 1,
        "hot": "热点",
    }
    assert spots[("市容管理", "渭塘镇")]["change"] == 2
    assert spots[("治安灾害事故", "黄埭镇")]["hot"] == ""  # one incident: under hot_spot_min
    frequent = table(report, "frequent").rows
    counts = [(r["subcategory"], r["count"], r["previous"]) for r in frequent]
    assert counts[:3] == [("H02.01", 3, 1), ("H01.01", 2, 0), ("H07.01", 2, 0)]
    risks = {r["signal"] for r in table(report, "risks").rows}
    assert {"吹哨", "应急联动", "超时未办结"} <= risks
    units = table(report, "units_12345").rows
    assert [(u["key"], u["score"], u["rank"]) for u in units] == [(CITY, 56.0, 1), (WATER, 41.0, 2)]
    overview = {r["key"]: r["value"] for r in table(report, "overview").rows}
    assert overview["satisfaction_rate"] == 0.75 and overview["whistles"] == 1
    assert set(report.named_units) >= {"区公安分局", "黄埭镇政府", WATER}
    # the files, and the record `linkage report list` shows
    data = json.loads(Path(made.files["json"]).read_text(encoding="utf-8"))
    assert data["id"] == "monthly:2026-11:" and data["assessment_version"] == "2026-12-a2"
    book = load_workbook(made.files["xlsx"], read_only=True)
    assert {"总体情况", "民意热点", "12345 承办单位考核排名", "约谈单位的督办问责依据"} <= set(
        book.sheetnames
    )
    rows = list(book["12345 承办单位考核排名"].iter_rows(values_only=True))
    assert rows[2][:3] == ("单位", "单位代码", "得分")
    assert rows[3][0] == "区城市管理局" and rows[3][1] == CITY and rows[3][2] == 56.0
    listed = reports.list_reports(month_store, "monthly")
    assert [(r.id, r.files["html"]) for r in listed] == [("monthly:2026-11:", made.files["html"])]


def test_the_quarterly_meeting_gets_every_dispute_by_catalogue_item(month_store, tmp_path):
    report = reports.produce(month_store, Period.parse("quarterly", "2026-Q4"), out=tmp_path).report
    (item,) = table(report, "dispute_items").rows
    assert (item["subcategory"], item["disputes"], item["police"], item["hotline"]) == (
        "H07.01",
        2,
        1,
        1,
    )
    assert item["again"] == "反复争议" and item["proposed_owner"] == "(待会商: hotline/police)"
    settled = {r["direction"]: r["settled"] for r in table(report, "disputes").rows}
    assert settled["12345→110"] == "协商未果，首接平台先行受理"
    assert settled["110→12345"].startswith("command_center:")


def test_the_annual_summary_goes_month_by_month(month_store, tmp_path):
    report = reports.produce(month_store, Period.parse("annual", "2026"), out=tmp_path).report
    months = {r["month"]: r for r in table(report, "by_month").rows}
    assert len(months) == 12
    assert (months["2026-11"]["police_to_hotline"], months["2026-11"]["hotline_to_police"]) == (
        7,
        2,
    )
    assert months["2026-10"]["police_to_hotline"] == 1 and months["2026-12"]["orders"] is None


def test_a_units_own_report_holds_its_rows_and_evidence_only(month_store, tmp_path):
    report = reports.produce(
        month_store, Period.parse("monthly", "2026-11"), unit=WATER, out=tmp_path
    ).report
    assert [u["key"] for u in table(report, "units_12345").rows] == [WATER]
    assert {r["unit"] for r in table(report, "evidence").rows} == {WATER}
    assert report.id == f"monthly:2026-11:{WATER}"


def test_the_html_opens_offline_in_headless_chromium_with_its_charts_drawn(month_store, tmp_path):
    browser = chromium()
    made = reports.produce(month_store, Period.parse("monthly", "2026-11"), out=tmp_path / "out")
    html = Path(made.files["html"]).read_text(encoding="utf-8")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html  # nothing fetched, nothing run
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"file://{made.files['html']}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    charts = re.findall(r'<svg[^>]*class="chart"[^>]*data-table="([a-z_0-9]+)"', dom)
    assert {"hot_spots", "frequent", "units_12345", "units_110"} <= set(charts)
    widths = [float(w) for w in re.findall(r'<rect class="bar"[^>]*width="([0-9.]+)"', dom)]
    assert len(widths) >= 8 and max(widths) == 420.0  # the longest bar spans the chart
    assert "区城管局" in dom and "75.0%" in dom


async def test_the_schedules_run_the_review_of_the_period_that_ended(env, tmp_path):
    """Backfilling October and November runs each month's review (November's nominal time is
    1 December, 06:00 in Asia/Shanghai); triggering now runs last quarter's. Each writes its
    report, records it and puts a 通报 in the outbox for the units it names."""
    from datetime import datetime

    from linkage.ops.schedules import SCHEDULE_IDS, backfill, ensure_schedules
    from tests.conftest import eventually, own_worker

    store = Store(f"sqlite:///{tmp_path / 'records.db'}")
    build(store)
    queue = "linkage-report-schedules"
    async with own_worker(env, store, queue):
        for schedule_id in SCHEDULE_IDS.values():  # a schedule left by an earlier run
            with contextlib.suppress(RPCError):
                await env.client.get_schedule_handle(schedule_id).delete()
        assert await ensure_schedules(env.client, queue) == list(SCHEDULE_IDS.values())
        assert await ensure_schedules(env.client, queue) == []  # present: left alone
        described = await env.client.get_schedule_handle(SCHEDULE_IDS["monthly"]).describe()
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
        october, november = Period.parse("monthly", "2026-10"), Period.parse("monthly", "2026-11")
        assert await backfill(env.client, "monthly", october, november) == [october, november]

        def produced(report_id: str):
            rows = {r.id: r for r in reports.list_reports(store)}
            assert report_id in rows, f"{report_id} not produced yet: {sorted(rows)}"
            return rows[report_id]

        row = await eventually(lambda: produced("monthly:2026-10:"), seconds=30)
        assert row.summary["orders"] == 1  # October's own review: M alone
        row = await eventually(lambda: produced("monthly:2026-11:"), seconds=30)
        assert row.produced_by.startswith("report-monthly")
        assert row.summary["orders"] == 7 and "区水务局" in row.summary["named_units"]

        def sent() -> dict:
            notices = {m.payload["unit"]: m for m in store.outbox(limit=500) if m.kind == "notice"}
            assert set(notices) == set(row.summary["named_units"])
            return notices

        notices = await eventually(sent)
        assert notices["区公安分局"].target == "police" and notices["区水务局"].target == "hotline"
        assert any("约谈" in reason for reason in notices["区水务局"].payload["reasons"])

        await env.client.get_schedule_handle(SCHEDULE_IDS["quarterly"]).trigger()
        last_quarter = Period.before("quarterly", datetime.now().astimezone())
        await eventually(lambda: produced(f"quarterly:{last_quarter.label}:"), seconds=30)
        for schedule_id in SCHEDULE_IDS.values():
            await env.client.get_schedule_handle(schedule_id).delete()
