"""The cluster tier: a real multi-service Temporal cluster (the server built from its Go
module), PostgreSQL for persistence, visibility and the records, JWT authorization, two of the
project's workers and two API instances; started once for the tier, on ports and databases of
its own, and stopped at the end. Under CI it must come up: nothing here skips."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from linkage.ops.cluster.cluster import Cluster
from linkage.ops.cluster.config import Database, Ports
from linkage.ops.cluster.database import drop_all
from tests.cluster.load import Platform
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
SENDING_REVIEW_HOURS = 0.01  # 36 s: a timer that fires within the tier
PARTIES = {
    "station": ("police_unit", "黄埭派出所", "推送席"),
    "bureau": ("police_bureau", "区公安分局", "审核席"),
    "supervisor": ("supervisor", "", "督查席"),
}


def _config_dir(folder: Path) -> Path:
    """The district's files, with a sending review due in seconds instead of hours."""
    target = folder / "temporal-config"
    shutil.copytree(ROOT / "temporal-config", target)
    limits = target / "time-limits.toml"
    text = limits.read_text(encoding="utf-8")
    assert "sending_review_hours = 2 " in text
    limits.write_text(
        text.replace(
            "sending_review_hours = 2 ", f"sending_review_hours = {SENDING_REVIEW_HOURS} "
        ),
        encoding="utf-8",
    )
    return target


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if not shutil.which("go"):
        missing("Go", "go not on PATH")
    if not shutil.which("pg_ctlcluster"):
        missing("PostgreSQL", "pg_ctlcluster not on PATH")
    folder = tmp_path_factory.mktemp("cluster")
    made = Cluster(
        folder=folder,
        ports=Ports(base=27233),
        db=Database(prefix="tier_"),
        workers=2,
        apis=2,
        extra_env={"LINKAGE_CONFIG_DIR": str(_config_dir(folder))},
    )
    drop_all(made.db)
    try:
        made.up(say=lambda line: None)
        yield made
    finally:
        made.down()
        drop_all(made.db)


def linkage_command(
    cluster: Cluster, *args: str, role: str = "writer", env: dict[str, str] | None = None
) -> str:
    """A `linkage` command against the cluster, as its host's operator; `env` adds to the
    cluster's environment (another task queue, say)."""
    env = {**os.environ, **cluster.env(role), **(env or {})}
    done = subprocess.run(
        [".venv/bin/python", "-m", "linkage.interfaces.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def tokens(cluster) -> dict[str, str]:
    issued = {}
    for party, (role, unit, name) in PARTIES.items():
        args = ["token", "issue", "--json", "--role", role, "--name", name]
        issued[party] = json.loads(
            linkage_command(cluster, *args, *(["--unit", unit] if unit else []))
        )["token"]
    return issued


def api_urls(cluster: Cluster) -> list[str]:
    return [f"http://127.0.0.1:{cluster.ports.api(i)}" for i in range(1, cluster.apis + 1)]


@pytest.fixture
async def platform(cluster, tokens):
    made = Platform(api_urls(cluster), tokens)
    yield made
    await made.close()


async def wait_until(check, seconds: float, pause: float = 1.0):
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(pause)


def pytest_collection_modifyitems(items):
    """The tier's first test builds the cluster's binaries on a new machine (about 10 minutes on
    2 cores) and brings the cluster up: more than the suite's time per test allows."""
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).parent == here:
            item.add_marker(pytest.mark.timeout(2400))
