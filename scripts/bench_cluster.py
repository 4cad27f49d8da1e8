"""The cluster benchmark: both happy paths' incidents/s on the multi-service cluster with 1, 2
and 3 of the project's workers, and a 500-report burst, all landed.

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
import time

import bench_phases as phases

from linkage.ops.cluster.cluster import Cluster
from linkage.ops.cluster.config import Database, Ports
from linkage.ops.cluster.database import drop_all
from linkage.settings.paths import state_dir


async def measure(cluster: Cluster, incidents: int, timeout: float) -> dict:
    os.environ.update(cluster.env("writer"))
    from linkage.client import LinkageClient

    client = await LinkageClient.connect()
    results: dict = {"throughput": {}}
    for workers in (1, 2, 3):
        for i in range(1, 4):  # the first `workers` run, the others are stopped
            part = cluster.processes.part(f"worker-{i}")
            if i <= workers:
                cluster.processes.start(part, wait=120)
            else:
                cluster.processes.stop(part.name)
        await asyncio.sleep(3)  # the pollers of a stopped worker are gone from matching
        row = {}
        for name, run_one in (
            ("110→12345", lambda: phases.police_to_hotline(client)),
            ("12345→110", lambda: phases.hotline_to_police(client)),
        ):
            row[name] = await phases.throughput(
                f"{name} with {workers} worker(s)",
                run_one,
                lambda iid: phases.project_events(client, iid),
                incidents,
                timeout,
            )
        results["throughput"][workers] = row
    results["burst"] = await phases.burst(client, timeout)
    return results


def table(results: dict) -> str:
    lines = ["workers  110→12345/s  12345→110/s  events (110→12345, 12345→110)"]
    for workers, row in results["throughput"].items():
        a, b = row["110→12345"], row["12345→110"]
        lines.append(
            f"{workers:>7}  {a['incidents_per_s']:>11}  {b['incidents_per_s']:>11}  "
            f"{a['events_per_incident']}, {b['events_per_incident']}  "
            f"(completed {a['completed']}/{a['incidents']}, {b['completed']}/{b['incidents']})"
        )
    burst = results["burst"]
    lines.append(
        f"burst: {burst['answered']}/{burst['reports']} answered, {burst['refused']} refused, "
        f"in {burst['seconds']}s; incidents {burst['distinct_incidents']} of "
        f"{burst['expected_incidents']} expected; repeats in their original "
        f"{burst['repeats_in_original']}/{burst['repeats']}; closed answers "
        f"{burst['closed_answers']}; misplaced {burst['misplaced'][:3]}; ok {burst['ok']}"
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
        results = asyncio.run(measure(cluster, args.incidents, args.timeout))
    finally:
        if not args.keep:
            cluster.down()
    print(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    print(table(results))


if __name__ == "__main__":
    main()
