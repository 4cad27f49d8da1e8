"""What an incident costs Temporal: history events and bytes, per workflow and in all.

Runs on a time-skipping dev server of its own (as the tests do), with a worker on a temporary
SQLite records file:

  happy paths   110 → 12345 and 12345 → 110, each party acting once, to the close
  worst month   a 110 → 12345 incident through a month of the worst plausible activity: every
                deadline missed and supervised as often as the table allows, extensions,
                returns, rejected closes and re-pushes up to their limits, a whistle, police
                called to the scene, a dissatisfied revisit
  outage        a records database that answers nothing for a simulated day while an incident
                waits: the events the outage cost the incident

    .venv/bin/python scripts/bench_history.py [--json] [--only happy|month|outage]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from linkage.domain.search_attributes import SEARCH_ATTRIBUTES
from linkage.ops.devserver import temporal_binary
from linkage.records.store import Store
from linkage.settings.paths import config_dir
from linkage.trust.temporal import DATA_CONVERTER
from tests.conftest import make_report
from tests.parties import BUREAU, CENTRE, CITY_MGMT, STATION, as_, police_loop
from workers.main import build_worker

QUEUE = "linkage-history-bench"


class Outage(Store):
    """The records store with a switch: `down`, it answers no write (an outage)."""

    down = False

    def record_steps(self, input, *more):
        if self.down:
            from sqlalchemy.exc import OperationalError

            raise OperationalError("INSERT", {}, Exception("could not connect to server"))
        return super().record_steps(input, *more)


async def cost(client: LinkageClient, incident_id: str) -> dict:
    """Events and bytes of the incident and of every workflow of its own."""
    ids = [incident_id]
    async for found in client.client.list_workflows(f'LinkageIncident = "{incident_id}"'):
        if found.id != incident_id:
            ids.append(found.id)
    rows = {}
    for workflow_id in sorted(ids):
        history = await client.client.get_workflow_handle(workflow_id).fetch_history()
        rows[workflow_id.removeprefix(incident_id) or "incident"] = {
            "events": len(history.events),
            "bytes": sum(event.ByteSize() for event in history.events),
        }
    rows["all"] = {
        "events": sum(r["events"] for r in rows.values()),
        "bytes": sum(r["bytes"] for r in rows.values()),
    }
    return rows


async def divert(env, client: LinkageClient, origin: str) -> str:
    with env.with_time_skipping_disabled():
        return (await client.divert(make_report(origin))).incident_id


async def police_to_hotline(env, client: LinkageClient) -> str:
    iid = await divert(env, client, "police")
    for actor, action, fields in (
        (BUREAU, "review", {}),
        (CENTRE, "accept", {}),
        (CENTRE, "dispatch", {"unit": "区城管局"}),
        (CITY_MGMT, "sign", {}),
        (CITY_MGMT, "feedback", {"result": "已到现场处理完毕"}),
        (CENTRE, "reply", {"message": "您反映的问题已处理"}),
        (CENTRE, "close", {}),
        (CENTRE, "revisit", {"outcome": "satisfied"}),
    ):
        await client.act(iid, action, as_(actor, **fields))
    await client.result(iid)
    return iid


async def hotline_to_police(env, client: LinkageClient) -> str:
    iid = await divert(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid, STATION)
    await client.result(iid)
    return iid


def progress(what: str) -> None:
    print(f"  … {what}", file=sys.stderr, flush=True)


async def worst_month(env, client: LinkageClient) -> str:
    """A 110 → 12345 incident through a month of the worst plausible activity: every limit of
    the table used to the end, every deadline missed and supervised, a whistle, police called
    to the scene, the push sent again and again, a dissatisfied revisit."""
    from datetime import timedelta

    report = make_report("police")
    with env.with_time_skipping_disabled():
        iid = (await client.divert(report)).incident_id
        for _ in range(20):  # the platform sends the same push again and again
            await client.divert(report)
    incident = client.client.get_workflow_handle(iid)
    # the review is missed and supervised (forwarded while the incident has no child yet:
    # the time-skipping server waits on a parent's children)
    await env.fast_forward(incident, timedelta(hours=3))
    with env.with_time_skipping_disabled():
        for n in range(3):  # the push is changed a few times: the repeat whistle is blown
            await client.divert(report | {"description": f"{report['description']} (补充 {n})"})
    progress("reviewed late")
    await client.act(iid, "review", as_(BUREAU))
    await client.act(iid, "accept", as_(CENTRE))
    await client.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    loop = client.client.get_workflow_handle(f"{iid}.hotline")
    for n in range(2):  # returned as often as the table allows
        await client.act(iid, "return", as_(CITY_MGMT, reason=f"不属本单位职责 {n}"))
        await client.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    progress("returned twice")
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.whistle(iid, {**as_(CENTRE), "reason": "多次退单", "units": ["区城管局"]})
    await client.act(iid, "report-in", as_(CITY_MGMT))
    await client.act(iid, "police-linkage", as_(CITY_MGMT, reason="执法受阻"))
    await police_loop(client, iid, STATION)
    progress("police called")
    for n in range(3):  # extensions, as many as the table allows
        await client.act(iid, "extend", as_(CITY_MGMT, hours=48, reason=f"材料未齐 {n}"))
        await client.act(iid, "approve-extension", as_(CENTRE))
    for n in range(3):  # feedback rejected, as often as the table allows, each time late
        await env.fast_forward(loop, timedelta(days=7))
        progress(f"a week late ({n + 1})")
        await client.act(iid, "feedback", as_(CITY_MGMT, result=f"已处理 {n}"))
        await client.act(iid, "reject", as_(CENTRE, reason=f"未到现场核实 {n}"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已到现场处理完毕"))
    await client.act(iid, "reply", as_(CENTRE, message="您反映的问题已处理"))
    await client.act(iid, "close", as_(CENTRE))
    await client.act(iid, "revisit", as_(CENTRE, outcome="dissatisfied"))  # reopened once
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已重新处理"))
    await client.act(iid, "reply", as_(CENTRE, message="已重新处理"))
    await client.act(iid, "close", as_(CENTRE))
    await client.act(iid, "revisit", as_(CENTRE, outcome="basically_satisfied"))
    status = await client.status(iid)
    progress(f"{len(status.incident.whistles)} whistles blown, closing the open ones")
    for whistle in status.incident.whistles:  # the one blown by hand and those the rules blew
        if not whistle.closed:
            await client.act(iid, "close-whistle", as_(CENTRE), whistle=whistle.number)
    await client.result(iid)
    return iid


async def outage(env, client: LinkageClient, store) -> dict:
    """The events a day without the records database costs an incident that waits through it
    (its review missed at the start of the day, so it has something to write)."""
    from datetime import timedelta

    patient = Path(tempfile.mkdtemp(prefix="linkage-config-")) / "config"
    shutil.copytree(config_dir(), patient)
    table = patient / "time-limits.toml"
    # tried again every 12 hours instead of 5 minutes: the same events (a retry of an
    # activity is no event of the history), and the time-skipping server need not make
    # hundreds of real attempts
    table.write_text(
        table.read_text(encoding="utf-8").replace(
            "records_retry_minutes = 5 ", "records_retry_minutes = 720 "
        ),
        encoding="utf-8",
    )
    os.environ["LINKAGE_CONFIG_DIR"] = str(patient)
    iid = await divert(env, client, "police")
    handle = client.client.get_workflow_handle(iid)
    before = len((await handle.fetch_history()).events)
    store.down = True
    await env.fast_forward(handle, timedelta(hours=2, minutes=1))
    await env.fast_forward(handle, timedelta(days=1))
    during = len((await handle.fetch_history()).events)
    store.down = False
    await env.fast_forward(handle, timedelta(hours=12, minutes=1))
    await client.act(iid, "review", as_(BUREAU))  # the database is back: the incident goes on
    return {"incident": iid, "events_before": before, "events_after_a_day": during}


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="linkage-history-"))
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    store = Outage(f"sqlite:///{workdir / 'records.db'}")
    client = LinkageClient(env.client, QUEUE, store=store)
    results: dict = {}
    try:
        with ThreadPoolExecutor(16) as executor:
            async with build_worker(env.client, store, QUEUE, executor):
                if args.only in (None, "happy"):
                    for name, path in (
                        ("110 → 12345", police_to_hotline),
                        ("12345 → 110", hotline_to_police),
                    ):
                        results[name] = await cost(client, await path(env, client))
                if args.only in (None, "month"):
                    results["worst month"] = await cost(client, await worst_month(env, client))
                if args.only in (None, "outage"):
                    results["a day's outage"] = await outage(env, client, store)
    finally:
        await env.shutdown()
    return results


def table(results: dict) -> str:
    lines = []
    for name, rows in results.items():
        if "events_after_a_day" in rows:
            cost_ = rows["events_after_a_day"] - rows["events_before"]
            lines.append(f"{name}: {cost_} events for the day (the incident's own history)")
            continue
        total = rows["all"]
        lines.append(f"{name}: {total['events']} events, {total['bytes'] / 1024:.1f} KB")
        for workflow, row in rows.items():
            if workflow != "all":
                lines.append(f"  {workflow:<20}{row['events']:>6} events {row['bytes']:>9} B")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=("happy", "month", "outage"))
    args = parser.parse_args()
    os.environ.setdefault("LINKAGE_LOG_LEVEL", "WARNING")
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else table(results))


if __name__ == "__main__":
    main()
    os._exit(0)
