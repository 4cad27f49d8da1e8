"""The phases scripts/bench.py runs through the public client: throughput and a burst.

throughput: the happy paths each way (or the raw shape), many at once, with the history events
each incident wrote; burst: 500 reports at once, repeats among them, each answered and each
repeat in its original's incident. The CLI phases are in bench_commands.py, the open
incidents in bench_open.py.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import bench_shapes as shapes
from bench_support import failures, problem, progress
from temporalio.service import RPCError, RPCStatusCode

from linkage.client import LinkageClient

BUREAU = {"role": "police_bureau", "unit": "区公安分局"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心"}
UNIT = {"role": "member_unit", "unit": "区城管局"}
STATION = {"role": "police_unit", "unit": "黄埭派出所"}


# --- throughput ---------------------------------------------------------------------------------


async def police_to_hotline(client: LinkageClient) -> str:
    iid = (await client.divert(shapes.report("police"))).incident_id
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
    iid = (await client.divert(shapes.report("hotline"))).incident_id
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


async def history_length(client: LinkageClient, workflow_id: str) -> int | None:
    try:
        history = await client.client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return len(history.events)


async def project_events(client: LinkageClient, incident_id: str) -> int:
    """The incident's history plus every workflow of its own (ID incident_id + '.')."""
    ids = {incident_id, f"{incident_id}.police", f"{incident_id}.hotline"}
    async for wf in client.client.list_workflows(f"LinkageIncident = '{incident_id}'"):
        if wf.id == incident_id or wf.id.startswith(incident_id + "."):
            ids.add(wf.id)
    lengths = [await history_length(client, i) for i in sorted(ids)]
    return sum(n for n in lengths if n)


async def raw_events(client: LinkageClient, incident_id: str) -> int:
    lengths = [await history_length(client, i) for i in shapes.raw_workflow_ids(incident_id)]
    return sum(n for n in lengths if n)


async def throughput(name, run_one, count_events, incidents: int, timeout: float) -> dict:
    progress(f"{name}: {incidents} incidents at once")
    started = time.monotonic()
    tasks = [asyncio.ensure_future(run_one()) for _ in range(incidents)]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    elapsed = time.monotonic() - started
    for task in pending:
        task.cancel()
    ids = [t.result() for t in done if not t.exception()]
    errors = [problem(t.exception()) for t in done if t.exception()]
    errors += [f"not closed within {timeout:.0f}s"] * len(pending)
    counts = [await count_events(i) for i in ids]
    per = statistics.median(counts) if counts else 0
    row = {
        "incidents": incidents,
        "completed": len(ids),
        "seconds": round(elapsed, 2),
        "incidents_per_s": round(len(ids) / elapsed, 2) if ids else 0.0,
        "events_per_incident": per,
        "events_per_incident_max": max(counts, default=0),
        "events_per_s": round(per * len(ids) / elapsed) if ids else 0,
        "failures": failures(errors),
        "sample_id": ids[0] if ids else None,
    }
    progress(f"{name}: {len(ids)}/{incidents} in {elapsed:.1f}s, {per:.0f} events each")
    return row


# --- burst --------------------------------------------------------------------------------------


async def burst(client: LinkageClient, timeout: float) -> dict:
    reports = shapes.burst_reports()
    progress(f"burst: {len(reports)} reports at once")

    async def one(item: shapes.BurstReport):
        sent = time.monotonic()
        result = await client.divert(item.report)
        return result, time.monotonic() - sent

    started = time.monotonic()
    tasks = {asyncio.ensure_future(one(item)): item for item in reports}
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    elapsed = time.monotonic() - started
    for task in pending:
        task.cancel()
    answers, latencies, errors = {}, [], []
    for task in done:
        if task.exception():
            errors.append(problem(task.exception()))
        else:
            answers[tasks[task].n], latency = task.result()
            latencies.append(latency)
    closed = sum(1 for a in answers.values() if a.closed)
    misplaced, matched_by = [], {}
    for item in reports:
        if item.original is None:
            continue
        mine, theirs = answers.get(item.n), answers.get(item.original)
        if mine is None or theirs is None:
            continue
        how = mine.matched_by or ("resent" if mine.resent else "started it" if mine.new else "?")
        matched_by[how] = matched_by.get(how, 0) + 1
        if mine.incident_id != theirs.incident_id:
            misplaced.append(f"{item.kind}: {mine.incident_id} (original {theirs.incident_id})")
    repeats = sum(1 for item in reports if item.original is not None)
    checked = sum(
        1 for i in reports if i.original is not None and {i.n, i.original} <= answers.keys()
    )
    latencies.sort()
    row = {
        "reports": len(reports),
        "answered": len(answers),
        "refused": len(errors),
        "no_answer": len(pending),
        "closed_answers": closed,
        "distinct_incidents": len({a.incident_id for a in answers.values()}),
        "expected_incidents": len(reports) - repeats,
        "new": sum(1 for a in answers.values() if a.new),
        "repeats": repeats,
        "repeats_checked": checked,
        "repeats_in_original": checked - len(misplaced),
        "repeats_matched_by": matched_by,
        "misplaced": misplaced[:10],
        "seconds": round(elapsed, 2),
        "latency_p50_s": round(latencies[len(latencies) // 2], 2) if latencies else None,
        "latency_max_s": round(latencies[-1], 2) if latencies else None,
        "failures": failures(errors + [f"no answer within {timeout:.0f}s"] * len(pending)),
        "open_id": next((a.incident_id for a in answers.values() if a.new), None),
    }
    row["ok"] = (
        row["answered"] == len(reports)
        and closed == 0
        and row["distinct_incidents"] == row["expected_incidents"]
        and row["repeats_in_original"] == repeats
    )
    progress(f"burst: {len(answers)}/{len(reports)} answered in {elapsed:.1f}s")
    return row
