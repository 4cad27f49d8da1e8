"""The worker's metrics: the Temporal SDK's exporter at LINKAGE_METRICS_ADDRESS serves the SDK's
`temporal_*` metrics and the project's counters, named exactly as the table names them."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from linkage.client import LinkageClient
from linkage.domain.triage_result import TriageRequest
from linkage.metrics import worker as metrics
from linkage.settings.config import ConfigError, Settings
from linkage.triage.triager import load_triager
from linkage.trust.temporal import connect
from tests.conftest import eventually, make_report
from tests.metrics.scrape import families, linkage_names, value
from workers.main import build_worker

ENV = metrics.ADDRESS_ENV


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_sdks_endpoint_serves_temporal_metrics_and_the_triage_readings(env, store):
    address = f"127.0.0.1:{free_port()}"
    runtime = metrics.worker_runtime({ENV: address})
    target = env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=target), runtime=runtime)
    queue = "linkage-metrics"
    with ThreadPoolExecutor(max_workers=16) as executor:
        workers = build_worker(client, store, queue, executor)
        running = asyncio.create_task(workers.run())
        try:
            answer = await LinkageClient(client, queue, store=store).divert(make_report("police"))
            assert answer.new

            async def scraped() -> str:
                async with httpx.AsyncClient() as http:
                    page = (await http.get(f"http://{address}/metrics", timeout=5)).text
                assert value(page, "linkage_reports_taken_total", origin="police") == 1
                return page

            page = await eventually(scraped, 15)
        finally:
            await workers.shutdown()
            await running
    readings = "linkage_triage_readings_total"
    assert value(page, readings) == 1
    # 占道经营, pushed by 110: triage finds it 12345's
    assert value(page, readings, direction="hotline", task_queue=queue) == 1
    assert f"\n{readings}{{" in page  # exported under this very name, `_total` not doubled
    assert linkage_names(page) == {readings, "linkage_reports_taken_total"}
    assert any(name.startswith("temporal_") for name in families(page))
    assert "temporal_worker_task_slots_available" in page


def test_the_address_is_the_default_unless_set_and_empty_turns_it_off():
    assert metrics.metrics_address({}) == metrics.DEFAULT_ADDRESS == "127.0.0.1:9464"
    assert metrics.metrics_address({ENV: " 0.0.0.0:9464 "}) == "0.0.0.0:9464"
    assert metrics.metrics_address({ENV: "[::]:9464"}) == "[::]:9464"
    assert metrics.metrics_address({ENV: ""}) is None
    assert metrics.worker_runtime({ENV: ""}) is None


@pytest.mark.parametrize("given", ["9464", "localhost:9464", "0.0.0.0:", "0.0.0.0:99999", "x"])
def test_a_bad_address_is_refused_naming_the_variable(given):
    with pytest.raises(ConfigError, match=f"{ENV}=.*an IP address and a port"):
        metrics.metrics_address({ENV: given})


def test_an_address_in_use_is_refused_when_set_and_quietly_off_by_default(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(ConfigError, match=f"{ENV}={address}: cannot serve metrics"):
            metrics.worker_runtime({ENV: address})
        monkeypatch.setattr(metrics, "DEFAULT_ADDRESS", address)
        assert metrics.worker_runtime({}) is None  # a second worker on the host runs on


def test_a_reading_is_the_side_found_or_unsure_when_the_desk_decides():
    result = load_triager().triage(TriageRequest(text="小区门口有人占道经营摆摊，堵住人行道"))
    assert metrics.reading(result) == result.direction == "hotline"
    unsure = result.model_copy(update={"needs_review": True})
    assert metrics.reading(unsure) == "unsure"
    metrics.triage_read(unsure)  # outside an activity (a method called directly): nothing
