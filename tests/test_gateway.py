"""Pushes over HTTP: retried with the same idempotency key, visible as pending until accepted."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from activities.gateway import GatewayActivities
from linkage.domain.models import Platform
from linkage.domain.record_inputs import PushInput
from linkage.records.tables import OutboxMessage
from linkage.settings.gateway import GatewayConfig
from tests.conftest import eventually, own_worker, police_handles_a_12345_push


class Platform110:
    """A stand-in for the other platform's receiving endpoint: it fails the first N posts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.failing_status = 503
        self.received: list[tuple[str, dict]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.received.append((self.headers["Idempotency-Key"], body))
                failing = len(platform.received) <= platform.failures
                status = platform.failing_status if failing else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/linkage/push"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def platform():
    server = Platform110(failures=1)
    yield server
    server.close()


def test_a_failed_post_stays_pending_and_the_retry_uses_the_same_key(store, platform):
    gateway = GatewayActivities(store, GatewayConfig(endpoints={"police": platform.url}))
    push = PushInput(
        key="hotline-GDX1:incident",
        target=Platform.police,
        kind="incident",
        incident_id="hotline-GDX1",
        payload={"a": 1},
    )
    with pytest.raises(httpx.HTTPStatusError):
        gateway.push_to_platform(push)
    row = store.get(OutboxMessage, push.key)
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
    receipt = gateway.push_to_platform(push)
    assert receipt.status == "delivered" and receipt.channel == "http"
    assert [key for key, _ in platform.received] == [push.key, push.key]
    assert platform.received[0][1]["payload"] == {"a": 1}
    assert store.get(OutboxMessage, push.key).status == "delivered"
    # Delivered once, a further retry does not post again.
    gateway.push_to_platform(push)
    assert len(platform.received) == 2


async def test_an_incident_waits_for_its_push_and_then_goes_on(env, store, platform):
    config = GatewayConfig(endpoints={"police": platform.url, "hotline": platform.url})
    async with own_worker(env, store, "linkage-http", config) as client:
        iid, summary = await police_handles_a_12345_push(env, client)
    keys = [key for key, _ in platform.received]
    assert keys == [f"{iid}:incident", f"{iid}:incident", f"{iid}:result"]
    assert store.get(OutboxMessage, f"{iid}:incident").attempts == 2
    assert summary.stage.value == "closed"
    assert store.get(OutboxMessage, f"{iid}:result").status == "delivered"


async def test_an_emergency_notice_that_fails_is_retried_and_the_others_go_at_once(
    env, store, platform
):
    from tests.conftest import open_incident
    from tests.parties import BUREAU, as_

    config = GatewayConfig(endpoints={"emergency": platform.url})
    async with own_worker(env, store, "linkage-emergency-http", config) as client:
        iid = await open_incident(env, client, "hotline", category="治安灾害事故")
        await client.act(iid, "accept", as_(BUREAU))

        def all_delivered() -> list:
            rows = [m for m in store.outbox(target="emergency", limit=1000) if m.incident_id == iid]
            assert len(rows) == 3 and all(m.status == "delivered" for m in rows)
            return rows

        rows = await eventually(all_delivered, seconds=20)
    assert sorted(m.attempts for m in rows) == [1, 1, 2]  # the first post failed, then went


async def test_posts_run_on_the_slow_queue_and_the_workers_finish_what_runs_when_stopped(
    env, store, platform
):
    """HTTP posts (retried for days) run in a pool of their own on `<queue>-slow`, never in the
    way of the records' writes every action waits for; a worker told to stop lets running
    activities finish first (SHUTDOWN_GRACE), instead of cancelling them at once."""
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.api.enums.v1 import EventType

    from workers.main import SHUTDOWN_GRACE, build_worker

    config = GatewayConfig(endpoints={"police": platform.url, "hotline": platform.url})
    async with own_worker(env, store, "linkage-slow-queue", config) as client:
        iid, _ = await police_handles_a_12345_push(env, client)
    history = await client.client.get_workflow_handle(iid).fetch_history()
    queues = {
        e.activity_task_scheduled_event_attributes.task_queue.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    assert queues == {"linkage-slow-queue-slow"}
    with ThreadPoolExecutor(16) as executor:
        workers = build_worker(env.client, store, "linkage-grace", executor, config)
        for worker in (workers.main, workers.slow):
            assert worker.config()["graceful_shutdown_timeout"] == SHUTDOWN_GRACE
