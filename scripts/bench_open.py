"""The open phase of scripts/bench.py: many incidents diverted and left waiting.

They run on a worker of their own, started as `linkage worker` with review deadlines of about a
second: its RSS before, along the way and after, and the CLI's `linkage status` and
`linkage list --overdue` once they are all overdue.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import time
from pathlib import Path

import bench_shapes as shapes
from bench_commands import cli_env, cli_time
from bench_support import LINKAGE, OPEN_QUEUE, dies_with_the_bench, failures, problem, progress
from bench_workers import ApiProcess
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from linkage.client import LinkageClient
from linkage.settings.paths import config_dir


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
        # a random caller may repeat an earlier one's number: that report joined its incident
        row["incidents_open"] = opened = len(set(ids))
        while (overdue := (await env.client.count_workflows(query)).count) < opened:
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
        async with ApiProcess(cli, workdir / "open-api.log") as api:
            through = {**cli, "LINKAGE_API_URL": api.url}
            for suffix, how in (("", cli), ("_api", through)):
                way = "through the API" if suffix else "directly"
                progress(f"open: linkage list --overdue x5, {way}")
                row["list_overdue" + suffix] = await cli_time(how, "list", "--overdue", "--json")
                if ids:
                    progress(f"open: linkage status {ids[0]} x5, {way}")
                    row["status_overdue" + suffix] = await cli_time(how, "status", ids[0])
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
