"""/healthz and /readyz of the HTTP API, the codec server and the worker: alive without any I/O;
ready when Temporal and the records database answer, else 503 naming what failed, within about
2 s, with no token asked and nothing but the checks said."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from linkage.client import LinkageClient
from linkage.interfaces.api.app import make_app
from linkage.interfaces.codec_server import make_codec_app
from linkage.records.audit import AuditLog
from linkage.trust.codec import CODEC
from tests.conftest import TASK_QUEUE, eventually
from tests.tokens import Tokens
from workers.health import WorkerHealth
from workers.main import build_worker

ROOT = Path(__file__).resolve().parents[1]
# a password and a host that must never show in an answer
UNREACHABLE = {
    "refused": "postgresql://linkage:s3cret-pw@127.0.0.1:1/test",
    "no such file": "sqlite:////nonexistent-linkage-dir/records.db",
}


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


def http(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")


def said_nothing_personal(answer: httpx.Response, *secrets: str) -> None:
    for secret in ("s3cret", "127.0.0.1", "nonexistent-linkage-dir", "linkage:", *secrets):
        assert secret not in answer.text


async def test_the_api_is_alive_and_ready_on_a_running_system(linkage, tokens):
    async with http(make_app(linkage, tokens.verifier)) as api:
        alive = await api.get("/healthz")  # no token
        assert alive.status_code == 200 and alive.json() == {"status": "alive"}
        ready = await api.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready" and set(body["checks"]) == {"temporal", "database"}
        assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
        assert ready.headers["cache-control"] == "no-store"
        schema = (await api.get("/openapi.json")).json()
        assert "/readyz" not in schema["paths"]  # the platforms' schema stays as committed


@pytest.mark.parametrize("why", sorted(UNREACHABLE))
async def test_the_api_is_not_ready_when_the_records_database_is_unreachable(
    env, tokens, monkeypatch, why
):
    monkeypatch.setenv("LINKAGE_DATABASE_URL", UNREACHABLE[why])
    client = LinkageClient(env.client, TASK_QUEUE)  # the records of the environment
    async with http(make_app(client, tokens.verifier)) as api:
        started = time.monotonic()
        answer = await api.get("/readyz")
        assert time.monotonic() - started < 3
        assert (await api.get("/healthz")).status_code == 200  # alive all the same
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["database"] and body["status"] == "not ready"
    assert body["checks"]["temporal"]["ok"] and not body["checks"]["database"]["ok"]
    assert body["checks"]["database"]["error"] == "OperationalError"
    said_nothing_personal(answer)
    assert not Path("/nonexistent-linkage-dir").exists()  # the probe makes no database


async def test_a_database_that_does_not_answer_is_given_up_on_within_the_bound(
    env, tokens, monkeypatch
):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # takes the connection, says nothing
        url = f"postgresql://linkage:s3cret-pw@127.0.0.1:{silent.getsockname()[1]}/test"
        monkeypatch.setenv("LINKAGE_DATABASE_URL", url)
        async with http(make_app(LinkageClient(env.client, TASK_QUEUE), tokens.verifier)) as api:
            started = time.monotonic()
            answer = await api.get("/readyz")
            assert 1.5 < time.monotonic() - started < 3
    assert answer.status_code == 503 and answer.json()["failed"] == ["database"]
    said_nothing_personal(answer)


async def test_the_codec_server_is_ready_with_the_temporal_and_records_it_is_given(
    env, tokens, store, monkeypatch
):
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    app = make_codec_app(CODEC, tokens.verifier, AuditLog(store.engine))
    async with http(app) as codec:
        alive = await codec.get("/healthz")
        ready = await codec.get("/readyz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert ready.status_code == 200, ready.text
    assert {name for name, c in ready.json()["checks"].items() if c["ok"]} == {
        "temporal",
        "database",
    }


async def test_the_codec_server_is_not_ready_without_temporal(tokens, store, monkeypatch):
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", "127.0.0.1:1")
    app = make_codec_app(CODEC, tokens.verifier, AuditLog(store.engine))
    async with http(app) as codec:
        started = time.monotonic()
        answer = await codec.get("/readyz")
        assert time.monotonic() - started < 3
    assert answer.status_code == 503 and answer.json()["failed"] == ["temporal"]
    assert answer.json()["checks"]["database"]["ok"]
    said_nothing_personal(answer)


async def test_the_workers_readiness_follows_its_workers(env, store):
    health = WorkerHealth()
    async with (
        health.serving(store.url, ("127.0.0.1", 0)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe,
    ):
        assert (await probe.get("/healthz")).json() == {"status": "alive"}
        starting = await probe.get("/readyz")
        assert starting.status_code == 503
        assert starting.json()["checks"]["process"] == {"ok": False, "error": "starting"}
        health.client = env.client
        with ThreadPoolExecutor(max_workers=16) as executor:
            async with build_worker(env.client, store, "linkage-health", executor) as workers:
                health.running(workers)

                async def ready_now():
                    answer = await probe.get("/readyz")
                    assert answer.status_code == 200, answer.text  # once both have started
                    return answer

                ready = await eventually(ready_now)
                assert set(ready.json()["checks"]) == {"temporal", "database"}
                health.stopping()
                stopping = await probe.get("/readyz")
        assert stopping.status_code == 503 and stopping.json()["failed"] == ["process"]
        assert stopping.json()["checks"]["process"]["error"] == "shutting down"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(url: str, seconds: float = 60) -> httpx.Response:
    """The answer to GET url once it is 200, or the last answer after `seconds`."""
    deadline, answer = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=3)
            if answer.status_code == 200:
                return answer
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url}: {answer.text if answer else 'no answer'}")


def test_the_worker_serves_its_health_on_the_port_the_environment_names(env, tmp_path):
    port = free_port()
    environ = {
        **os.environ,
        "LINKAGE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "LINKAGE_TASK_QUEUE": "linkage-health-process",
        "LINKAGE_STATE_DIR": str(tmp_path),
        "LINKAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}",
        "LINKAGE_WORKER_HEALTH_PORT": str(port),
    }
    environ.pop("LINKAGE_WORKER_HEALTH_HOST", None)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.main"],
        cwd=ROOT,
        env=environ,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        assert probe(f"http://127.0.0.1:{port}/healthz").json() == {"status": "alive"}
        ready = probe(f"http://127.0.0.1:{port}/readyz")
        assert json.loads(ready.text)["status"] == "ready"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, log.read_text()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
