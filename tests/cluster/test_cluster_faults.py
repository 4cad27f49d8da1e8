"""Faults on the real cluster, each during a burst of reports and reviews sent through both API
instances: SIGKILL a project worker, an API instance, Temporal's history, matching and
frontend services, and a PostgreSQL restart. Afterwards every report a caller was told is
received is an incident exactly once, every acknowledged review is applied once, each has its
audit entries, and the timers set before the faults fire. What callers saw is printed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest
import sqlalchemy as sa

from linkage.ops.cluster.cluster import Cluster
from linkage.ops.cluster.database import records_url
from linkage.records.engine import make_engine
from tests.cluster.conftest import SENDING_REVIEW_HOURS, wait_until
from tests.cluster.load import burst
from tests.conftest import make_report

REPORTS = 40


def _as_root(*command: str) -> None:
    prefix = [] if subprocess.os.getuid() == 0 else ["sudo", "-n"]
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


def restart_postgresql(_: Cluster) -> None:
    listed = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()
    version, name = listed[0], listed[1]
    _as_root("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart")


def kill_and_restart(part: str, down_for: float):
    def fault(cluster: Cluster) -> None:
        cluster.processes.signal(part)
        time.sleep(down_for)
        cluster.processes.start(cluster.processes.part(part), wait=120)

    return fault


FAULTS = {
    "worker": kill_and_restart("worker-1", 5),
    "api": kill_and_restart("api-1", 5),
    "history": kill_and_restart("history", 3),
    "matching": kill_and_restart("matching", 3),
    "frontend": kill_and_restart("frontend", 3),
    "postgresql": restart_postgresql,
}


@pytest.fixture(scope="module")
def records(cluster):
    engine = make_engine(records_url(cluster.db))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
async def waiting(cluster, tokens):
    """Pushes left unreviewed before the faults: their review deadline (seconds away) must
    still fire once the faults are over."""
    from tests.cluster.conftest import api_urls
    from tests.cluster.load import Platform

    platform = Platform(api_urls(cluster), tokens)
    ids = []
    for _ in range(3):
        answer = await platform.send("divert", "/reports", "station", make_report("police"))
        assert answer is not None and answer.status_code == 201, answer and answer.text
        ids.append(answer.json()["incident_id"])
    await platform.close()
    return ids


def _counts(records, sql: str, ids: list[str]) -> dict[str, int]:
    with records.connect() as connection:
        rows = connection.execute(sa.text(sql), {"ids": ids}).all()
    return {row[0]: row[1] for row in rows}


def _all_recorded(records, received: list[str], reviewed: list[str]):
    incidents = _counts(records, "SELECT id, 1 FROM incident WHERE id = ANY(:ids)", received)
    approvals = _counts(
        records,
        "SELECT incident_id, count(*) FROM stepevent WHERE action = 'approve' "
        "AND step = 'sending_review' AND incident_id = ANY(:ids) GROUP BY incident_id",
        reviewed,
    )
    audits = _counts(
        records,
        "SELECT incident_id || ':' || action, count(*) FROM auditentry WHERE allowed "
        "AND incident_id = ANY(:ids) GROUP BY incident_id, action",
        received,
    )
    return incidents, approvals, audits


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_burst_through_a_fault_loses_and_duplicates_nothing(
    cluster, platform, records, waiting, fault
):
    running = asyncio.create_task(burst(platform, REPORTS, concurrency=8))
    await asyncio.sleep(2)
    began = time.monotonic() - platform.started
    await asyncio.to_thread(FAULTS[fault], cluster)
    ended = time.monotonic() - platform.started
    outcome = await running

    assert not outcome.given_up, f"never answered: {outcome.given_up}"
    assert len(outcome.received) == REPORTS
    received = sorted(outcome.received.values())
    assert len(set(received)) == REPORTS  # one incident per report
    reviewed = sorted(outcome.reviewed)

    def settled():
        incidents, approvals, audits = _all_recorded(records, received, reviewed)
        done = len(incidents) == REPORTS and len(approvals) == len(reviewed)
        return (incidents, approvals, audits) if done else None

    found = await wait_until(settled, 180)
    assert found, f"records incomplete after {fault}: {_all_recorded(records, received, reviewed)}"
    _, approvals, audits = found
    assert all(count == 1 for count in approvals.values()), approvals  # applied once
    assert len(reviewed) == REPORTS, f"reviews not acknowledged: {outcome.refused}"
    missing = [i for i in received if not audits.get(f"{i}:divert")]
    missing += [i for i in reviewed if not audits.get(f"{i}:review")]
    assert not missing, f"no audit entry for {missing}"

    seen = {
        "fault": fault,
        "outage_s": round(ended - began, 1),
        "during": outcome.seen(began, ended + 1),
        "whole_burst": outcome.seen(),
        "longest_wait_s": round(outcome.longest_wait(), 1),
        "burst_s": round(time.monotonic() - platform.started, 1),
    }
    print("\nFAULT " + json.dumps(seen, ensure_ascii=False))
    with (cluster.folder / "faults.jsonl").open("a") as handle:
        handle.write(json.dumps(seen) + "\n")


async def test_the_timers_set_before_the_faults_fire(records, waiting):
    def overdue():
        flags = _counts(
            records, "SELECT id, overdue::int FROM incident WHERE id = ANY(:ids)", waiting
        )
        return len(flags) == len(waiting) and all(flags.values())

    assert await wait_until(overdue, SENDING_REVIEW_HOURS * 3600 + 120), (
        "a review deadline did not fire"
    )
