"""The API's /metrics: requests by route template (never the path asked), diverts received and
refused by origin and reason, the records' gauges beside; no token asked, not in the schema."""

from __future__ import annotations

import httpx
import pytest

from linkage.interfaces.api.app import make_app
from linkage.metrics.names import METRICS
from tests.conftest import make_report
from tests.metrics.scrape import label_values, linkage_names, value
from tests.tokens import Tokens


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def api(linkage, tokens):
    transport = httpx.ASGITransport(app=make_app(linkage, tokens.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_divert_and_the_refused_ones_are_counted_with_the_route_template(api, tokens):
    station = bearer(tokens.party("police_unit"))
    report = make_report("police")
    taken = await api.post("/reports", json=report, headers=station)
    assert taken.status_code == 201, taken.text
    again = await api.post("/reports", json=report, headers=station)  # the same push again
    assert again.status_code == 200 and again.json()["resent"], again.text
    centre = bearer(tokens.party("command_center"))
    bad = make_report("hotline", caller={"name": "王小明", "phone": "12"})
    assert (await api.post("/reports", json=bad, headers=centre)).status_code == 422
    assert (await api.post("/reports", json=make_report("police"))).status_code == 401
    iid = taken.json()["incident_id"]
    assert (await api.get(f"/incidents/{iid}", headers=station)).status_code == 200

    page = await api.get("/metrics")  # no token
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = page.text
    assert value(text, "linkage_reports_received_total", origin="police") == 1
    refused = "linkage_reports_refused_total"
    assert value(text, refused, origin="police", reason="duplicate") == 1
    assert value(text, refused, origin="hotline", reason="invalid") == 1
    assert value(text, refused, origin="police", reason="unauthorised") == 1
    assert value(text, refused) == 3
    requests = "linkage_api_requests_total"
    assert value(text, requests, route="/reports", method="POST", status="201") == 1
    assert value(text, requests, route="/reports", method="POST", status="422") == 1
    assert value(text, requests, route="/incidents/{incident_id}", method="GET") == 1
    assert iid not in text  # the template, never the ID
    duration = "linkage_api_request_duration_seconds_count"
    assert value(text, duration, route="/reports", method="POST") == 4
    # every linkage_* name it exports is the table's, and every one of the API's is there
    wanted = {name for name, m in METRICS.items() if m.process in ("api", "records")}
    assert linkage_names(text) == wanted
    assert value(text, "linkage_records_up") == 1


async def test_a_path_no_route_matches_adds_no_route_label(api, tokens):
    bureau = bearer(tokens.party("police_bureau"))
    for path in ("/no/such/path", "/incidents/a/b/c", "/reports/JJ20261129001", "/.env"):
        assert (await api.get(path, headers=bureau)).status_code in (404, 405)
    for iid in ("police-NOPE0001", "police-NOPE0002"):
        assert (await api.get(f"/incidents/{iid}", headers=bureau)).status_code == 404
    await api.request("BREW", "/incidents")  # a method no one knows: counted as "other"
    text = (await api.get("/metrics")).text
    routes = label_values(text, "linkage_api_requests_total", "route")
    known = {route.path for route in make_app().routes}
    assert routes <= known | {"unmatched"}, routes - known
    assert value(text, "linkage_api_requests_total", route="unmatched") >= 4
    assert value(text, "linkage_api_requests_total", route="/incidents/{incident_id}") == 2
    assert label_values(text, "linkage_api_requests_total", "method") <= {"GET", "other"}
    assert "NOPE" not in text and ".env" not in text
    again = (await api.get("/metrics")).text  # a plain route (no FastAPI route) by its path
    assert value(again, "linkage_api_requests_total", route="/metrics") >= 1


def test_metrics_is_not_in_the_schema():
    assert "/metrics" not in make_app().openapi()["paths"]
