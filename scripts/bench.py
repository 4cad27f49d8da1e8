"""Benchmark: history events per happy-path incident in each direction, and throughput.

Starts its own Temporal dev server (SQLite file with the WAL pragmas `linkage up` uses) and a
worker, runs N incidents each way through their happy path with every party acting at once,
and prints the figures. The dev server, not the worker, is the bottleneck on a small machine,
and its cost is history events: that is the figure to watch.

    .venv/bin/python scripts/bench.py [--incidents 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from linkage.devserver import DEV_SERVER_TUNING, temporal_binary
from linkage.store import Store
from linkage.temporal import DATA_CONVERTER, SEARCH_ATTRIBUTES
from workers.main import build_worker

BUREAU = {"role": "police_bureau", "unit": "区公安分局"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心"}
UNIT = {"role": "member_unit", "unit": "区城管局"}
STATION = {"role": "police_unit", "unit": "黄埭派出所"}


def report(origin: str) -> dict:
    """A report of its own caller and place, so that the intake starts an incident for each."""
    unique = uuid.uuid4()
    return {
        "origin": origin,
        "reference": f"BENCH{unique.hex[:12].upper()}",
        "received_at": "2026-11-29T09:30:00+08:00",
        "caller": {"name": "测试", "phone": f"139{unique.int % 10**8:08d}"},
        "location": {"address": f"黄埭镇春申路{unique.int % 10**6}号", "township": "黄埭镇"},
        # what triage reads as the receiving platform's own matter, so no desk review waits
        "description": "小区门口有人占道经营摆摊，堵住人行道，影响出行"
        if origin == "police"
        else "来电反映小区门口几个人打架斗殴，还在打",
        "divert_reason": "非警务类，属城管职责" if origin == "police" else "正在发生的治安案件",
        "originating_unit": "黄埭派出所" if origin == "police" else "区12345热线",
        "category": "市容管理",
    }


async def police_to_hotline(client: LinkageClient) -> str:
    iid = (await client.divert(report("police"))).incident_id
    steps = [
        (BUREAU, "review", {}),
        (CENTRE, "accept", {}),
        (CENTRE, "dispatch", {"unit": "区城管局"}),
        (UNIT, "sign", {}),
        (UNIT, "feedback", {"result": "已处理"}),
        (CENTRE, "reply", {"message": "已处理"}),
        (CENTRE, "close", {}),
        (CENTRE, "revisit", {"outcome": "satisfied"}),
    ]
    for actor, action, fields in steps:
        await client.act(iid, action, {"actor": actor, **fields})
    await client.result(iid)
    return iid


async def hotline_to_police(client: LinkageClient) -> str:
    iid = (await client.divert(report("hotline"))).incident_id
    steps = [
        (BUREAU, "accept", {}),
        (BUREAU, "command", {"unit": "黄埭派出所"}),
        (STATION, "arrive", {}),
        (STATION, "feedback", {"result": "已调解"}),
    ]
    for actor, action, fields in steps:
        await client.act(iid, action, {"actor": actor, **fields})
    await client.result(iid)
    return iid


async def events_of(client: LinkageClient, incident_id: str, loops: list[str]) -> int:
    total = 0
    for workflow_id in [incident_id] + [f"{incident_id}.{loop}" for loop in loops]:
        history = await client.client.get_workflow_handle(workflow_id).fetch_history()
        total += len(history.events)
    return total


async def main(incidents: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="linkage-bench-"))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_database_filename=str(workdir / "temporal.db"),
        dev_server_extra_args=DEV_SERVER_TUNING,
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    store = Store(f"sqlite:///{workdir / 'records.db'}")
    client = LinkageClient(env.client, "linkage-bench")
    try:
        with ThreadPoolExecutor(max_workers=16) as executor:
            worker = build_worker(env.client, store, "linkage-bench", executor)
            async with worker:
                for name, flow, loops in (
                    ("110 → 12345", police_to_hotline, ["hotline"]),
                    ("12345 → 110", hotline_to_police, ["police"]),
                ):
                    started = time.monotonic()
                    ids = await asyncio.gather(*(flow(client) for _ in range(incidents)))
                    elapsed = time.monotonic() - started
                    counts = [await events_of(client, i, loops) for i in ids[:10]]
                    per = statistics.median(counts)
                    print(
                        f"{name}: {per:.0f} history events per happy-path incident "
                        f"(parent + loop); {incidents} incidents in {elapsed:.1f}s = "
                        f"{incidents / elapsed:.1f} incidents/s, "
                        f"{per * incidents / elapsed:.0f} events/s"
                    )
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=40, help="incidents per direction")
    asyncio.run(main(parser.parse_args().incidents))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown, which the Temporal client's threads can abort
