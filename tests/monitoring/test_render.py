"""The dashboards drawn without Grafana (`linkage.ops.dashboards`): against a real Prometheus
(built from its Go module like promtool) scraping a small exposition of linkage metrics served
here, a page holds every panel's title at its place, a line for a series and its legend, the
numbers, bars and tables; and Grafana's variables and units are put in as Grafana does."""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from linkage.ops.dashboards import charts, grafana, units
from linkage.ops.dashboards.page import box, write
from linkage.ops.dashboards.source import Prometheus, seconds, step_for
from linkage.ops.deploy import prometheus as prometheus_server
from tests.conftest import chromium, missing
from tests.monitoring import BUILD_TIMEOUT, DASHBOARDS, dashboard, panels

SCRAPES = 5


def exposition(scrape: int) -> str:
    """What the linkage processes would serve: the API's counters growing with each scrape,
    the records gauges fixed; Chinese unit names as the records hold them."""
    actions, expiry = "/incidents/{id}/actions", time.time() + 20 * 86400
    return f"""\
# TYPE linkage_api_requests_total counter
linkage_api_requests_total{{route="/reports",method="POST",status="201"}} {10 * scrape}
linkage_api_requests_total{{route="{actions}",method="POST",status="200"}} {4 * scrape}
linkage_api_requests_total{{route="/reports",method="POST",status="503"}} {scrape}
# TYPE linkage_reports_received_total counter
linkage_reports_received_total{{origin="police"}} {3 * scrape}
# TYPE linkage_desk_queue gauge
linkage_desk_queue{{desk="triage_review"}} 4
linkage_desk_queue{{desk="receiving_review"}} 2
# TYPE linkage_overdue_items gauge
linkage_overdue_items{{loop="hotline",unit="区城管局",step="handling"}} 3
# TYPE linkage_incidents gauge
linkage_incidents{{stage="handling",owner="hotline"}} 5
linkage_incidents{{stage="closed",owner="hotline"}} 7
# TYPE linkage_records_up gauge
linkage_records_up 1
# TYPE linkage_token_earliest_expiry_timestamp_seconds gauge
linkage_token_earliest_expiry_timestamp_seconds{{role="police_bureau"}} {expiry:.0f}
"""


class Exposition(BaseHTTPRequestHandler):
    scrapes = 0

    def do_GET(self):  # noqa: N802 - http.server's name
        Exposition.scrapes += 1
        body = exposition(Exposition.scrapes).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Prometheus scraping the exposition every second as the API's job, after SCRAPES."""
    if not shutil.which("go"):
        missing("Go", "go not on PATH, and Prometheus is built from its Go module")
    try:
        prometheus_server.prometheus()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"Prometheus cannot be built: {err}")
    folder = tmp_path_factory.mktemp("prometheus")
    metrics = ThreadingHTTPServer(("127.0.0.1", 0), Exposition)
    threading.Thread(target=metrics.serve_forever, daemon=True).start()
    config = folder / "prometheus.yml"
    job = {"targets": [f"127.0.0.1:{metrics.server_address[1]}"]}
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [{"job_name": "linkage-api", "static_configs": [job]}],
            }
        )
    )
    try:
        with prometheus_server.start(
            config, port=free_port(), data=folder / "data", log=folder / "log"
        ) as running:
            deadline = time.monotonic() + 60
            while Exposition.scrapes < SCRAPES and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(1.5)  # the last scrape appended
            yield running
    finally:
        metrics.shutdown()


def section(page: str, panel_id: int) -> str:
    found = re.search(rf'<section class="panel" data-id="{panel_id}".*?</section>', page, re.S)
    assert found, f"panel {panel_id} is not on the page"
    return found.group(0)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_the_operators_page_draws_every_panel_from_prometheus(server, tmp_path):
    drawn = write(DASHBOARDS["operators"], Prometheus(server.url), tmp_path, range_seconds=120)
    page = drawn.path.read_text(encoding="utf-8")
    for panel in panels(dashboard("operators")):
        assert html.escape(panel["title"]) in page, panel["title"]
    left, top, width, height = box({"x": 8, "y": 23, "w": 8, "h": 8})  # 延迟 p95, beside 请求率
    assert f"left:{left:.0f}px;top:{top:.0f}px;width:{width:.0f}px" in section(page, 16)
    rate = section(page, 15)  # 请求率 Request rate: a line per route, the legend names it
    lines = re.findall(r'<path class="series" d="M[\d.]+,[\d.]+ L[^"]+"[^>]*><title>([^<]+)<', rate)
    assert set(lines) == {"/reports", "/incidents/{id}/actions"}
    assert "/incidents/{id}/actions" in rate and "/reports" in rate and "req/s" in rate
    ratio = section(page, 17)  # 5xx ratio: 1 of 15 requests a minute
    assert '<path class="series"' in ratio and "503" in ratio and "%" in ratio
    assert re.search(r'class="value"[^>]*>1</div><div class="name"[^>]*>API<', section(page, 3))
    assert "No data" in section(page, 2)  # no worker scraped here
    tokens = section(page, 26)  # time left, as days
    assert "police_bureau" in tokens and "2 weeks, 5 days" in tokens
    assert 'class="error"' not in page  # every query of the dashboard is one Prometheus takes


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_the_duty_desk_page_shows_queues_as_bars_and_overdue_items_as_a_table(server, tmp_path):
    drawn = write(DASHBOARDS["duty-desk"], Prometheus(server.url), tmp_path, range_seconds=120)
    page = drawn.path.read_text(encoding="utf-8")
    desks = section(page, 7)
    assert "triage_review" in desks and "receiving_review" in desks
    widths = [float(w) for w in re.findall(r'class="bar"[^>]*width="([\d.]+)"', desks)]
    assert len(widths) == 2 and max(widths) == pytest.approx(2 * min(widths), rel=0.01)
    overdue = section(page, 11)
    assert re.search(r"<td>hotline</td><td>handling</td><td>区城管局</td><td[^>]*>3</td>", overdue)
    assert "<th>Time</th>" not in overdue  # the organize transformation's exclusion
    assert "handling" in section(page, 2) and '<path class="series"' in section(page, 5)
    assert ">7<" in section(page, 4) and "closed" in section(page, 4)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_a_page_is_screenshot_whole_by_headless_chromium(server, tmp_path):
    browser = chromium()
    assert browser
    from linkage.ops.dashboards.screenshot import screenshot

    drawn = write(DASHBOARDS["duty-desk"], Prometheus(server.url), tmp_path, range_seconds=120)
    png = screenshot(drawn).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (drawn.width, drawn.height)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_a_query_prometheus_refuses_is_shown_on_its_panel(server, tmp_path):
    board = tmp_path / "bad.json"
    raw = dashboard("duty-desk")
    raw["panels"] = [p for p in raw["panels"] if p["id"] == 7]
    raw["panels"][0]["targets"][0]["expr"] = "max by (desk (linkage_desk_queue)"
    board.write_text(json.dumps(raw), encoding="utf-8")
    page = write(board, Prometheus(server.url), tmp_path, range_seconds=60).path.read_text()
    assert 'class="error"' in section(page, 7) and "parse error" in section(page, 7)


def test_grafanas_variables_are_put_in_for_the_step_and_range():
    expr = "sum(rate(x[$__rate_interval])) / sum(increase(x[${__range}])) + y[$__interval] * $n"
    put = grafana.substitute(expr, step=30, range_seconds=3600, scrape=15, variables={"n": "2"})
    assert put == "sum(rate(x[60s])) / sum(increase(x[3600s])) + y[30s] * 2"
    assert grafana.substitute("x[$__rate_interval]", step=60, range_seconds=1, scrape=15) == (
        "x[75s]"
    )  # step + scrape once the step is longer than 4 scrapes
    assert grafana.substitute('up{job="$unknown"}', step=1, range_seconds=1, scrape=1) == (
        'up{job="$unknown"}'
    )
    assert step_for(3600, 15) == 15 and step_for(86400, 15) == 360 and step_for(60, 5) == 5
    assert seconds("1h") == 3600 and seconds("1m30s") == 90
    with pytest.raises(ValueError):
        seconds("an hour")


def test_a_legend_takes_the_series_labels_and_a_series_reduces_as_the_panel_says():
    labels = {"__name__": "linkage_incidents", "stage": "handling", "owner": "police"}
    assert grafana.legend("{{stage}} · {{ owner }}", labels) == "handling · police"
    assert grafana.legend("{{missing}} {{stage}}", labels) == "handling"
    assert grafana.legend("", labels) == 'linkage_incidents{owner="police", stage="handling"}'
    assert grafana.reduce([1.0, None, 3.0, None], ["lastNotNull"]) == 3.0
    assert grafana.reduce([1.0, None], ["last"]) is None
    assert grafana.reduce([1.0, 5.0, 3.0], ["max"]) == 5.0
    steps = {"color": {"mode": "thresholds"}}
    steps["thresholds"] = {
        "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]
    }
    assert grafana.threshold_colour(steps, 0) == grafana.COLOURS["red"]
    assert grafana.threshold_colour(steps, 2) == grafana.COLOURS["green"]


def test_values_are_shown_in_the_panels_unit():
    assert units.fmt(0.0534, "percentunit") == "5.34%"
    assert units.fmt(12.5, "percent") == "12.5%"
    assert units.fmt(0.25, "s") == "250 ms" and units.fmt(90, "s") == "1.5 min"
    assert units.fmt(1500, "ms") == "1.5 s" and units.fmt(7200, "s") == "2 hour"
    assert units.fmt(1234, "short") == "1.23 K" and units.fmt(3, "short") == "3"
    assert units.fmt(2.5, "reqps") == "2.5 req/s"
    assert units.fmt(30 * 86400 - 3600, "dtdurations") == "4 weeks, 1 day"
    assert units.fmt(86400 + 7200, "dtdurations") == "1 day, 2 hours"
    now = 1_800_000_000
    assert units.fmt(now + 3 * 86400 + 5, "dateTimeFromNow", now=now) == "in 3 days"
    assert units.fmt((now - 7200) * 1000, "dateTimeFromNow", now=now) == "2 hours ago"
    assert units.fmt(None, "short") == "–" and units.fmt(float("nan"), "s") == "–"
    assert units.fmt(3, "decbytes") == "3 decbytes"  # a unit not known: the number and its name


def test_a_value_axis_of_durations_steps_in_whole_minutes_and_hours():
    assert charts.duration_ticks(0, 200, 4, per_value=1) == [0, 60, 120, 180, 240]
    assert charts.duration_ticks(0, 180_000, 3, per_value=0.001) == [0, 60_000, 120_000, 180_000]
    assert charts.duration_ticks(0, 95, 3, per_value=0.001) == [0, 50, 100]  # ms: as numbers
    assert [units.fmt(t, "s") for t in charts.duration_ticks(0, 4000, 4, 1)] == [
        "0 s",
        "30 min",
        "1 hour",
        "1.5 hour",
    ]
