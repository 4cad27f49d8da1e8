"""What scripts/bench.py runs: a raw Temporal incident shape, and the reports it sends.

The raw shape is the project's incident with nothing of the project in it: a parent workflow
runs one activity, a child with four activities, a child with seven, receives one signal, runs
one more activity and completes. Its activities do nothing. It runs on the same dev server in
the same run, so the project's figures can be read against what Temporal itself gives there.
"""

from __future__ import annotations

import copy
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

CST = timezone(timedelta(hours=8))

STEP_TIMEOUT = timedelta(seconds=30)
RAW_LOOPS = (("first", 4), ("second", 7))  # child workflow ID suffix, activities it runs


@dataclass
class RawStep:
    incident_id: str
    step: str


@dataclass
class RawLoopInput:
    incident_id: str
    steps: int


@dataclass
class RawIncidentInput:
    incident_id: str


@activity.defn
def raw_step(step: RawStep) -> str:
    return step.step


@workflow.defn
class RawLoop:
    @workflow.run
    async def run(self, input: RawLoopInput) -> int:
        for n in range(input.steps):
            await workflow.execute_activity(
                raw_step,
                RawStep(input.incident_id, f"loop-{n}"),
                start_to_close_timeout=STEP_TIMEOUT,
            )
        return input.steps


@workflow.defn
class RawIncident:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self, note: str) -> None:
        self.done = True

    @workflow.run
    async def run(self, input: RawIncidentInput) -> str:
        iid = input.incident_id
        await workflow.execute_activity(
            raw_step, RawStep(iid, "open"), start_to_close_timeout=STEP_TIMEOUT
        )
        for suffix, steps in RAW_LOOPS:
            await workflow.execute_child_workflow(
                RawLoop.run, RawLoopInput(iid, steps), id=f"{iid}.{suffix}"
            )
        await workflow.wait_condition(lambda: self.done)
        await workflow.execute_activity(
            raw_step, RawStep(iid, "close"), start_to_close_timeout=STEP_TIMEOUT
        )
        return iid


def raw_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor) -> Worker:
    """Built like the project's worker: sandboxed workflows on the same runner (its code
    compiled once: workers.sandbox), sync activities in a thread pool."""
    from workers.sandbox import KeptSandboxRunner, ignores_context, keep_compiled

    keep_compiled("bench_shapes")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RawIncident, RawLoop],
        activities=[raw_step],
        workflow_runner=KeptSandboxRunner(context_free=ignores_context(client.data_converter)),
        activity_executor=executor,
        max_concurrent_activities=16,
    )


async def raw_incident(client: Client, task_queue: str) -> str:
    iid = f"raw-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        RawIncident.run, RawIncidentInput(iid), id=iid, task_queue=task_queue
    )
    await handle.signal(RawIncident.finish, "done")
    await handle.result()
    return iid


def raw_workflow_ids(incident_id: str) -> list[str]:
    return [incident_id] + [f"{incident_id}.{suffix}" for suffix, _ in RAW_LOOPS]


# --- reports ------------------------------------------------------------------------------------

DESCRIPTION = {  # what triage reads as the receiving platform's own matter: no desk review waits
    "police": "小区门口有人占道经营摆摊，堵住人行道，影响出行",
    "hotline": "来电反映小区门口几个人打架斗殴，还在打",
}


def report(origin: str, n: int | None = None, run: str | None = None) -> dict:
    """A report with a caller and place of its own, so that it starts an incident of its own.

    With `n` and `run` the caller and place are numbered (no two alike within a run); without
    them they are random.
    """
    unique = uuid.uuid4()
    if n is None or run is None:
        phone, house = f"139{unique.int % 10**8:08d}", f"{unique.int % 10**12}"
    else:
        phone, house = f"138{run}{n:04d}", f"{run}-{n}"
    return {
        "origin": origin,
        "reference": f"BENCH{unique.hex[:12].upper()}",
        "received_at": (datetime.now(CST) - timedelta(hours=1)).isoformat(timespec="seconds"),
        "caller": {"name": "测试", "phone": phone},
        "location": {"address": f"黄埭镇春申路{house}号", "township": "黄埭镇"},
        "description": DESCRIPTION[origin],
        "divert_reason": "非警务类，属城管职责" if origin == "police" else "正在发生的治安案件",
        "originating_unit": "黄埭派出所" if origin == "police" else "区12345热线",
        "category": "市容管理",
    }


@dataclass
class BurstReport:
    report: dict
    n: int
    original: int | None = None  # for a repeat: the index of the report it repeats
    kind: str = "original"  # original | same_report | same_caller


def burst_reports(
    distinct: int = 400, same_report: int = 50, same_caller: int = 50, seed: int = 12345
) -> list[BurstReport]:
    """`distinct` reports of their own, then repeats of the first ones, shuffled.

    `same_report` are the very same report sent again; `same_caller` are a different report (its
    own reference and place) from the caller of an earlier one.
    """
    rng = random.Random(seed)
    run = f"{rng.randrange(10**4):04d}"
    originals = [
        BurstReport(report("police" if n % 2 else "hotline", n, run), n) for n in range(distinct)
    ]
    repeats = [
        BurstReport(copy.deepcopy(originals[n].report), distinct + n, n, "same_report")
        for n in range(same_report)
    ]
    for n in range(same_report, same_report + same_caller):
        again = report(originals[n].report["origin"], distinct + n, run)
        again["caller"] = copy.deepcopy(originals[n].report["caller"])
        repeats.append(BurstReport(again, distinct + n, n, "same_caller"))
    burst = originals + repeats
    rng.shuffle(burst)
    return burst


async def serve(task_queue: str) -> None:
    """The raw shape's worker in a process of its own, until SIGTERM (scripts/bench_workers),
    connected as the project's worker is (linkage.trust.temporal.connect: the dev server's
    address, or a cluster's TLS and token from TEMPORAL_* in the environment)."""
    import asyncio
    import signal

    from linkage.trust.temporal import connect

    client = await connect()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(16) as executor:
        async with raw_worker(client, task_queue, executor):
            await stop.wait()


if __name__ == "__main__":
    import asyncio
    import sys

    import bench_shapes  # the workflows by their module's name, not __main__'s

    if sys.argv[1:2] != ["worker"] or len(sys.argv) != 3:
        sys.exit("usage: bench_shapes.py worker TASK_QUEUE  (Temporal from the environment)")
    asyncio.run(bench_shapes.serve(sys.argv[2]))
