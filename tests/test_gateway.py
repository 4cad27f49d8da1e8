"""Pushes over HTTP: retried with the same idempotency key, visible as pending until accepted."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from activities.gateway import GatewayActivities
from linkage.client import LinkageClient
from linkage.config import GatewayConfig
from linkage.models import Platform
from linkage.records import PushInput
from linkage.store import OutboxMessage
from tests.conftest import open_incident
from tests.parties import BUREAU, as_, police_loop
from workers.main import build_worker


class Platform110:
    """A stand-in for the other platform's receiving endpoint: it fails the first N posts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[str, dict]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.received.append((self.headers["Idempotency-Key"], body))
                status = 503 if len(platform.received) <= platform.failures else 200
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
    queue = "linkage-http"
    client = LinkageClient(env.client, queue)
    config = GatewayConfig(endpoints={"police": platform.url, "hotline": platform.url})
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(env.client, store, queue, executor, gateway_config=config)
        running = asyncio.create_task(worker.run())
        try:
            iid = await open_incident(env, client, "hotline")
            await client.act(iid, "accept", as_(BUREAU))
            await police_loop(client, iid)
            summary = await client.result(iid)
        finally:
            await worker.shutdown()
            await running
    keys = [key for key, _ in platform.received]
    assert keys == [f"{iid}:incident", f"{iid}:incident", f"{iid}:result"]
    assert store.get(OutboxMessage, f"{iid}:incident").attempts == 2
    assert summary.stage.value == "closed"
    assert store.get(OutboxMessage, f"{iid}:result").status == "delivered"
