"""The cluster benchmark: both happy paths' incidents/s on the multi-service cluster with 1, 2
and 3 of the project's workers, each beside the raw Temporal shape (bench_shapes) on as many
raw workers, run before and after; and a 500-report burst, all landed; beside each, what an
incident costs (history bytes, CPU seconds by part, PostgreSQL bytes: bench_sizing).

    .venv/bin/python scripts/bench_cluster.py [--incidents 30] [--keep]

It brings up a cluster of its own (ports from 31233, databases `bench_*`), runs the phases
through the public client with the cluster's writer credential, prints a table and the JSON,
and stops the cluster (`--keep` leaves it running).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import bench_phases as phases
import bench_shapes as shapes
import bench_sizing as sizing
import bench_workers as workers
from bench_support import RAW_QUEUE

from linkage.ops.cluster.cluster import Cluster
from linkage.ops.cluster.config import Database, Ports
from linkage.ops.cluster.database import drop_all
from linkage.settings.paths import state_dir


async def measure(cluster: Cluster, incidents: int, timeout: float, workdir: Path) -> dict:
    os.environ.update(cluster.env("writer"))
    from linkage.client import LinkageClient

    client = await LinkageClient.connect()
    results: dict = {"throughput": {}}
    raw_workers = [
        workers.raw_worker(cluster.env("writer"), RAW_QUEUE, workdir, f"raw worker {i}")
        for i in (1, 2, 3)
    ]
    try:
        for count in (1, 2, 3):
            for i in range(1, 4):  # the first `count` run, the others are stopped
                part = cluster.processes.part(f"worker-{i}")
                if i <= count:
                    cluster.processes.start(part, wait=120)
                else:
                    cluster.processes.stop(part.name)
            for raw in raw_workers[:count]:
                if raw.process is None or raw.process.returncode is not None:
                    await raw.start(client.client)
            for raw in raw_workers[count:]:
                await raw.stop()
            await asyncio.sleep(3)  # the pollers of a stopped worker are gone from matching
            results["throughput"][count] = await with_workers(cluster, client, incidents, timeout)
    finally:
        await asyncio.gather(*(raw.stop() for raw in raw_workers))
    results["burst"] = await landed_burst(client, cluster, timeout)
    return results


SETTLE_S = 8  # seconds for the cluster to finish a phase's trailing work


async def with_workers(cluster: Cluster, client, incidents: int, timeout: float) -> dict:
    """The raw shape, both paths, the raw shape again, on the workers running now; each path's
    rate over the mean of the raw shape's two."""
    row = {}

    def raw() -> object:
        return shapes.raw_incident(client.client, RAW_QUEUE)

    async def raw_events(iid: str) -> int:
        return await phases.raw_events(client, iid)

    async def project_events(iid: str) -> int:
        return await phases.project_events(client, iid)

    names = cluster.processes.names()
    count = sum(1 for n in names if n.startswith("worker-") and cluster.processes.alive(n))
    sized = {}  # what the project's two paths cost, the raw shape's runs left out
    for name, run_one, events in (
        ("raw", raw, raw_events),
        ("110→12345", lambda: phases.police_to_hotline(client), project_events),
        ("12345→110", lambda: phases.hotline_to_police(client), project_events),
        ("raw again", raw, raw_events),
    ):
        # Temporal writes visibility and moves timers after a workflow's last event: the window
        # opens once the raw shape's trailing work is done and closes once the paths' is.
        if name == "110→12345":
            await asyncio.sleep(SETTLE_S)
            sized["cpu"], sized["stored"] = cpu_and_bytes(cluster)
        if name == "raw again":
            await asyncio.sleep(SETTLE_S)
            sized["cpu_after"], sized["stored_after"] = cpu_and_bytes(cluster)
        row[name] = await phases.throughput(
            f"{name} with {count} worker(s)", run_one, events, incidents, timeout
        )
        sample_id = row[name]["sample_id"]
        if not name.startswith("raw"):
            row[name].update(await sizing.sample(client, [sample_id] if sample_id else []))
    raws = [row[k]["incidents_per_s"] for k in ("raw", "raw again") if row[k]["completed"]]
    if raws:
        row["raw_mean_per_s"] = round(sum(raws) / len(raws), 2)
        for name in ("110→12345", "12345→110"):
            if row[name]["completed"]:
                row[name]["ratio_to_raw"] = round(
                    row[name]["incidents_per_s"] / row["raw_mean_per_s"], 2
                )
    closed = sum(row[k]["completed"] for k in ("110→12345", "12345→110"))
    row["cpu_s_per_incident"] = sizing.per_incident(sized["cpu"], sized["cpu_after"], closed)
    row["db_bytes_per_incident"] = sizing.per_incident(
        sized["stored"], sized["stored_after"], closed
    )
    return row


def cpu_and_bytes(cluster: Cluster) -> tuple[dict, dict]:
    return sizing.cpu_seconds(cluster), sizing.database_bytes(cluster)


async def landed_burst(client, cluster: Cluster, timeout: float) -> dict:
    """500 reports at once (100 repeats), each answered, then each landed: its intake record
    written and every repeat in its original's incident, read from the records once the
    reports an answer called `queued` (no worker answered in time) have opened."""
    import sqlalchemy as sa

    from linkage.ops.cluster.database import records_url
    from linkage.records.engine import make_engine

    reports = shapes.burst_reports()
    started = time.monotonic()
    answers = await asyncio.gather(
        *(client.divert(item.report) for item in reports), return_exceptions=True
    )
    answered = time.monotonic() - started
    refused = [a for a in answers if isinstance(a, BaseException)]
    queued = sum(1 for a in answers if not isinstance(a, BaseException) and a.queued)
    ids = {item.n: f"{item.report['origin']}-{item.report['reference']}" for item in reports}
    engine = make_engine(records_url(cluster.db))
    incident_of: dict[str, str] = {}
    while time.monotonic() - started < timeout:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, incident_id FROM intakereport WHERE id = ANY(:ids)"),
                {"ids": list(set(ids.values()))},
            ).all()
        incident_of = dict(rows)
        if len(incident_of) == len(set(ids.values())):
            break
        await asyncio.sleep(1)
    engine.dispose()
    repeats = [item for item in reports if item.original is not None]
    joined = 0
    for item in repeats:
        mine, theirs = incident_of.get(ids[item.n]), incident_of.get(ids[item.original])
        joined += bool(mine) and mine == theirs
    row = {
        "reports": len(reports),
        "answered": len(reports) - len(refused),
        "refused": len(refused),
        "queued_answers": queued,
        "answered_s": round(answered, 1),
        "landed": len(incident_of),
        "expected_records": len(set(ids.values())),
        "landed_s": round(time.monotonic() - started, 1),
        "incidents": len(set(incident_of.values())),
        "expected_incidents": len(reports) - len(repeats),
        "repeats_in_original": joined,
        "repeats": len(repeats),
    }
    row["ok"] = (
        not refused
        and row["landed"] == row["expected_records"]
        and row["incidents"] == row["expected_incidents"]
        and joined == len(repeats)
    )
    return row


def table(results: dict) -> str:
    lines = [
        "workers  raw/s (before, after)  110→12345/s (vs raw)  12345→110/s (vs raw)  "
        "events (110→12345, 12345→110)"
    ]
    for count, row in results["throughput"].items():
        a, b = row["110→12345"], row["12345→110"]
        raw = f"{row['raw']['incidents_per_s']}, {row['raw again']['incidents_per_s']}"
        lines.append(
            f"{count:>7}  {raw:>21}  {a['incidents_per_s']:>11} ({a.get('ratio_to_raw', '—')})"
            f"  {b['incidents_per_s']:>11} ({b.get('ratio_to_raw', '—')})  "
            f"{a['events_per_incident']}, {b['events_per_incident']}  "
            f"(completed {a['completed']}/{a['incidents']}, {b['completed']}/{b['incidents']})"
        )
        lines.append(
            f"         history bytes {a['history_bytes_median']}, {b['history_bytes_median']}; "
            f"CPU s/incident {row['cpu_s_per_incident']}; "
            f"PostgreSQL bytes/incident {row['db_bytes_per_incident']}"
        )
    lines.append("targets: 110→12345 ≥ 0.8 × raw, 12345→110 ≥ 0.9 × raw (with 2 workers)")
    b = results["burst"]
    lines.append(
        f"burst: {b['answered']}/{b['reports']} answered in {b['answered_s']}s "
        f"({b['queued_answers']} queued: no worker answered in time), {b['refused']} refused; "
        f"landed {b['landed']}/{b['expected_records']} records in {b['landed_s']}s; incidents "
        f"{b['incidents']} of {b['expected_incidents']} expected; repeats in their original "
        f"{b['repeats_in_original']}/{b['repeats']}; ok {b['ok']}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=30, help="per path and worker count")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    args = parser.parse_args()
    cluster = Cluster(
        folder=state_dir() / "bench-cluster",
        ports=Ports(base=31233),
        db=Database(prefix="bench_"),
        workers=3,
        apis=1,
    )
    drop_all(cluster.db)
    started = time.monotonic()
    cluster.up()
    print(f"cluster up in {time.monotonic() - started:.0f}s")
    try:
        workdir = Path(tempfile.mkdtemp(prefix="linkage-bench-cluster-"))
        results = asyncio.run(measure(cluster, args.incidents, args.timeout, workdir))
    finally:
        if not args.keep:
            cluster.down()
    print(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    print(table(results))


if __name__ == "__main__":
    main()
