"""The phases scripts/bench.py runs, through the public client, the CLI and `linkage worker`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path

import bench_shapes as shapes
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError, RPCStatusCode

from linkage.client import LinkageClient
from linkage.settings.paths import config_dir

BUREAU = {"role": "police_bureau", "unit": "区公安分局"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心"}
UNIT = {"role": "member_unit", "unit": "区城管局"}
STATION = {"role": "police_unit", "unit": "黄埭派出所"}

QUEUE, RAW_QUEUE, OPEN_QUEUE = "linkage-bench", "linkage-bench-raw", "linkage-bench-open"
LINKAGE = str(Path(sys.executable).parent / "linkage")
T0 = time.monotonic()
CONSOLE = sys.stderr  # bench.py points this at the terminal and everything else at its log


def dies_with_the_bench() -> None:
    """preexec_fn: the child is sent SIGTERM when the bench ends, however it ends (Linux), so
    that a bench killed outright leaves no dev server or worker behind."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=CONSOLE, flush=True)


def problem(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160] if text else ''}".rstrip(": ")


def failures(errors: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


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


# --- the CLI ------------------------------------------------------------------------------------


def cli_env(address: str, namespace: str, queue: str, workdir: Path, **more: str) -> dict:
    """The CLI as a principal of its own (LINKAGE_TOKEN, set by bench.py), with the bench's
    keyring, against the worker's records database."""
    return {
        **os.environ,
        "LINKAGE_TEMPORAL_ADDRESS": address,
        "LINKAGE_NAMESPACE": namespace,
        "LINKAGE_TASK_QUEUE": queue,
        "LINKAGE_STATE_DIR": str(workdir),
        "LINKAGE_DATABASE_URL": f"sqlite:///{workdir / 'records.db'}",
        **more,
    }


async def cli_time(env: dict, *args: str, runs: int = 5) -> dict:
    """Wall time of `linkage ARGS` (median of `runs`), and how the last run ended."""
    times, out, err, code = [], b"", b"", 0
    for _ in range(runs):
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            LINKAGE, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        times.append(time.monotonic() - started)
        code = proc.returncode or 0
    row = {"command": "linkage " + " ".join(args), "median_s": round(statistics.median(times), 3)}
    row["min_s"], row["exit_code"] = round(min(times), 3), code
    if code:
        row["error"] = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    elif "--json" in args and "list" in args:
        row["listed"] = len(json.loads(out or b"[]"))
    return row


async def cli_burst(env: dict, workdir: Path, count: int = 60) -> dict:
    """`count` `linkage divert` processes at once on the embedded SQLite records database, as
    60 desks might: every one must land, each in an incident of its own."""
    progress(f"cli burst: {count} linkage divert processes at once")
    folder = workdir / "cli-burst"
    folder.mkdir(exist_ok=True)
    files = []
    for n in range(count):
        path = folder / f"report-{n}.json"
        path.write_text(json.dumps(shapes.report("police"), ensure_ascii=False), encoding="utf-8")
        files.append(path)

    async def one(path: Path) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            LINKAGE, "divert", str(path), "--json", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode(errors="replace")

    started = time.monotonic()
    answers = await asyncio.gather(*(one(path) for path in files))
    elapsed = time.monotonic() - started
    landed = [json.loads(out) for code, out, _ in answers if code == 0]
    errors = [(err.strip().splitlines() or ["?"])[-1] for code, _, err in answers if code]
    row = {
        "processes": count,
        "landed": len(landed),
        "new_incidents": len({a["incident_id"] for a in landed if a.get("new")}),
        "seconds": round(elapsed, 1),
        "failures": failures(errors),
    }
    progress(f"cli burst: {len(landed)}/{count} landed in {elapsed:.1f}s")
    return row


async def cli_phase(env: dict, closed_id: str | None, open_id: str | None) -> dict:
    rows = {}
    for label, iid in (("status_closed", closed_id), ("status_open", open_id)):
        if iid:
            progress(f"cli: linkage status {iid} x5")
            rows[label] = await cli_time(env, "status", iid)
    progress("cli: linkage list --overdue x5")
    rows["list_overdue"] = await cli_time(env, "list", "--overdue", "--json")
    return rows


# --- many open incidents ------------------------------------------------------------------------


def fast_config(workdir: Path) -> Path:
    """A copy of temporal-config/ whose review deadlines pass in about a second."""
    target = workdir / "config-fast"
    shutil.copytree(config_dir(), target)
    limits = target / "time-limits.toml"
    text, found = re.subn(
        r"^(\s*(?:sending|receiving)_review_hours\s*=\s*)[0-9.]+",
        r"\g<1>0.0003",
        limits.read_text(encoding="utf-8"),
        flags=re.M,
    )
    if not found:
        raise RuntimeError(f"{limits}: no review deadline to shorten")
    limits.write_text(text, encoding="utf-8")
    return target


def _tail(path: Path, lines: int = 3) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return [line[:300] for line in text[-lines:]]


def rss_mb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS"), "peak_mb": fields.get("VmHWM")}


async def pollers(client: LinkageClient, queue: str) -> int:
    reply = await client.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(reply.pollers)


async def open_phase(env, address: str, workdir: Path, count: int, timeout: float) -> dict:
    queue_client = LinkageClient(env.client, OPEN_QUEUE)
    records = f"sqlite:///{workdir / 'open-records.db'}"
    cli = cli_env(address, env.client.namespace, OPEN_QUEUE, workdir, LINKAGE_DATABASE_URL=records)
    worker_env = {**cli, "LINKAGE_CONFIG_DIR": str(fast_config(workdir))}
    log = (workdir / "open-worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        LINKAGE, "worker", env=worker_env, stdout=log, stderr=log, preexec_fn=dies_with_the_bench
    )
    row: dict = {"incidents": count, "worker_log": str(workdir / "open-worker.log")}
    try:
        progress(f"open: worker pid {worker.pid} on {OPEN_QUEUE}; waiting for it to poll")
        deadline = time.monotonic() + 60
        while not await pollers(queue_client, OPEN_QUEUE):
            if worker.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {row['worker_log']}")
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)
        row["before"], row["rss_along"] = rss_mb(worker.pid), []
        try:  # the first one answers in seconds, or the worker cannot run them: say so now
            await asyncio.wait_for(queue_client.divert(shapes.report("police")), 60)
        except TimeoutError:
            raise RuntimeError(
                f"the worker does not answer a report; the last lines of {row['worker_log']}: "
                + " | ".join(_tail(workdir / "open-worker.log"))
            ) from None

        gate, ids, errors = asyncio.Semaphore(100), [], []
        started, step, late = time.monotonic(), max(count // 10, 1), False

        async def one() -> None:
            async with gate:
                try:
                    iid = (await queue_client.divert(shapes.report("police"))).incident_id
                except Exception as err:  # counted and shown, the run goes on
                    if not late:
                        errors.append(problem(err))
                    return
                if late:
                    return
                ids.append(iid)
                done = len(ids) + len(errors)
                if done % step == 0:
                    row["rss_along"].append({"diverted": done, **rss_mb(worker.pid)})
                    progress(f"open: {done}/{count} diverted; worker {row['rss_along'][-1]}")

        progress(f"open: diverting {count} police pushes (at most 100 in flight)")
        tasks = [asyncio.ensure_future(one()) for _ in range(count)]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        late = True  # what the cancelled calls answer now is not counted
        for task in pending:
            task.cancel()
        errors += [f"no answer within {timeout:.0f}s"] * len(pending)
        row["divert_seconds"] = round(time.monotonic() - started, 1)
        row["diverted"], row["failures"] = len(ids), failures(errors)
        row["diverts_per_s"] = round(len(ids) / row["divert_seconds"], 1)

        query = f"LinkageOverdue = true AND TaskQueue = '{OPEN_QUEUE}'"
        waited, deadline = time.monotonic(), time.monotonic() + timeout
        while (overdue := (await env.client.count_workflows(query)).count) < len(ids):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        row["overdue"], row["overdue_wait_s"] = overdue, round(time.monotonic() - waited, 1)
        progress(f"open: {overdue} overdue; worker {rss_mb(worker.pid)}")
        await asyncio.sleep(2)
        row["after"] = rss_mb(worker.pid)
        first = row["rss_along"][0] if row["rss_along"] else None
        if first and len(ids) > first["diverted"]:  # past the first tenth: the start-up is paid
            grown = row["after"]["rss_mb"] - first["rss_mb"]
            row["kb_per_incident"] = round(grown * 1024 / (len(ids) - first["diverted"]), 1)
        progress("open: linkage list --overdue x5")
        row["list_overdue"] = await cli_time(cli, "list", "--overdue", "--json")
        if ids:
            progress(f"open: linkage status {ids[0]} x5")
            row["status_overdue"] = await cli_time(cli, "status", ids[0])
    except Exception as err:
        row["error"] = problem(err)
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), 30)
            except TimeoutError:
                worker.kill()
        log.close()
    return row
