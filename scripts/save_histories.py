"""Save the event histories of every workflow type on every path the tests drive.

Starts a Temporal dev server of its own (time skipping, as the tests have it), a worker on a
temporary SQLite records file, drives each path through LinkageClient, waits for its incidents
to finish, and writes the history of every workflow the path ran:

    tests/histories/<path>__<workflow type>__<n>.json

n counts the workflows of that type in the path, in a fixed order (the path's incidents in
turn; of each, the incident, its police loop, its 12345 loop, its whistles, its emergency
linkages). Existing files of the same name are overwritten; others are left alone.
tests/test_replay.py replays every file against the current code.

    .venv/bin/python scripts/save_histories.py [--out DIR] [--only PATH ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from linkage.domain.search_attributes import SEARCH_ATTRIBUTES
from linkage.ops.devserver import temporal_binary
from linkage.records.store import Store
from linkage.trust.temporal import PLAIN_CONVERTER
from tests.conftest import eventually, make_report, open_incident, started_loop
from tests.parties import (
    BUREAU,
    CENTRE,
    CITY_MGMT,
    STATION,
    TOWNSHIP,
    WATER,
    as_,
    divert_to_hotline,
    handle_order,
    police_loop,
    reply_and_close,
)
from workers.main import build_worker

TASK_QUEUE = "linkage-histories"
OUT = sys.stdout  # where the files written are listed
DEFAULT_OUT = ROOT / "tests" / "histories"
PATH_TIMEOUT = timedelta(seconds=90)  # one path; they run at once

# A path drives one story and returns the incidents it ran, the main one first.
Story = Callable[[WorkflowEnvironment, LinkageClient], Awaitable[list[str]]]
PATHS: dict[str, Story] = {}


def path(name: str) -> Callable[[Story], Story]:
    def register(fn: Story) -> Story:
        PATHS[name] = fn
        return fn

    return register


async def finish_hotline(client: LinkageClient, iid: str, outcome: str = "satisfied") -> None:
    await reply_and_close(client, iid)
    await client.act(iid, "revisit", as_(CENTRE, outcome=outcome))


async def wait_for_whistle(client: LinkageClient, iid: str, number: int = 1) -> None:
    async def started() -> None:
        status = await client.status(iid)
        assert len(status.whistles) >= number, "whistle not started yet"

    await eventually(started, seconds=15)


async def wait_for_emergency(client: LinkageClient, iid: str) -> None:
    async def started() -> None:
        assert (await client.status(iid)).emergencies, "emergency linkage not started yet"

    await eventually(started, seconds=15)


# --- the paths ----------------------------------------------------------------------------------


@path("police_to_hotline")
async def police_to_hotline(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    return [iid]


@path("hotline_to_police")
async def hotline_to_police(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid]


# dispute_settled (one side's settle took effect) was saved before a settlement needed both
# sides; its files stay in tests/histories and replay the old branch of SETTLE_BY_BOTH.


@path("dispute_settled_by_both")
async def dispute_settled_by_both(env, client):
    """One side's word is a proposal; the settlement is the two sides agreeing."""
    iid = await open_incident(env, client, "police")
    await client.act(iid, "review", as_(BUREAU))
    await client.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    await client.act(iid, "settle", as_(CENTRE, owner="police"))
    await client.act(iid, "settle", as_(BUREAU, owner="hotline"))
    await client.act(iid, "settle", as_(BUREAU, owner="police", note="协商由派出所处置"))
    await police_loop(client, iid)
    return [iid]


@path("dispute_decided_by_arbiter")
async def dispute_decided_by_arbiter(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "review", as_(BUREAU))
    await client.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    await client.act(iid, "settle", as_(BUREAU, owner="hotline"))
    desk = {"role": "linkage_desk", "unit": "对接联动专席", "person": "刘主任"}
    await client.act(iid, "settle", as_(desk, owner="joint", note="会同处置"))
    await asyncio.gather(police_loop(client, iid), handle_order(client, iid))
    await finish_hotline(client, iid)
    return [iid]


@path("late_then_met")
async def late_then_met(env, client):
    """A loop's deadline missed (the incident told, overdue) and then met (overdue no more);
    an emergency acknowledgement late, chased at its own interval, then given."""
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=2, minutes=1))  # dispatch missed
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    # feedback that does not hold is rejected before the citizen is replied to
    await client.act(iid, "reject", as_(CENTRE, reason="现场照片显示摊位仍在"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="摊位已清理"))
    await finish_hotline(client, iid)

    other = await open_incident(env, client, "hotline")
    await client.act(other, "accept", as_(BUREAU))
    await client.act(other, "emergency-linkage", as_(BUREAU, units=["120"]))
    await wait_for_emergency(client, other)
    emergency = client.client.get_workflow_handle(f"{other}.emergency-1")
    await env.fast_forward(emergency, timedelta(minutes=26))  # late, chased twice
    await client.act(other, "acknowledge", as_({"role": "emergency_unit", "unit": "120"}))
    await police_loop(client, other)
    return [iid, other]


@path("dispute_unsettled")
async def dispute_unsettled(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "dispute", as_(BUREAU, reason="属物业纠纷，非警务"))
    # the negotiation deadline passes: the first receiver (12345) handles it
    await env.fast_forward(client.client.get_workflow_handle(iid), timedelta(hours=4, seconds=1))
    await handle_order(client, iid)
    await finish_hotline(client, iid, "basically_satisfied")
    return [iid]


@path("send_back_resubmit")
async def send_back_resubmit(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "send-back", as_(BUREAU, reason="推送原因不清，请补充先期处置情况"))
    await client.act(
        iid, "resubmit", as_(STATION, divert_reason="民警已到场，无治安违法，属城管职责")
    )
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    return [iid]


@path("send_back_withdraw")
async def send_back_withdraw(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "send-back", as_(BUREAU, reason="属治安案件，不应分流"))
    await client.act(iid, "withdraw", as_(STATION))
    return [iid]


@path("return_redispatch")
async def return_redispatch(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    for unit in (TOWNSHIP, WATER):
        await client.act(iid, "dispatch", as_(CENTRE, unit=unit["unit"]))
        await client.act(iid, "return", as_(unit, reason="不属于本单位职责"))
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await finish_hotline(client, iid)
    # the return limit blew the whistle by rule; the incident closes once the whistle does
    await wait_for_whistle(client, iid)
    await client.act(iid, "close-whistle", as_(CENTRE, note="职责已明确，由区城管局承办"))
    return [iid]


@path("rejected_close")
async def rejected_close(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await client.act(iid, "reply", as_(CENTRE, message="已处理"))
    await client.act(iid, "reject", as_(CENTRE, reason="反馈内容不实"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="再次到场，已彻底清理"))
    await finish_hotline(client, iid)
    return [iid]


@path("dissatisfied_reopen")
async def dissatisfied_reopen(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await reply_and_close(client, iid)
    await client.act(iid, "revisit", as_(CENTRE, outcome="dissatisfied"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="重新处理"))
    await finish_hotline(client, iid, "dissatisfied")
    return [iid]


@path("missed_deadline_supervised")
async def missed_deadline_supervised(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=119))  # two reminders
    await env.fast_forward(handle, timedelta(hours=1, minutes=1))  # missed: supervised
    await env.fast_forward(handle, timedelta(hours=24))  # supervised again
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await finish_hotline(client, iid)
    return [iid]


@path("whistle")
async def whistle(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    call = {
        "actor": CENTRE,
        "reason": "多次重复报警，群众情绪激动",
        "units": [CITY_MGMT["unit"], TOWNSHIP["unit"], WATER["unit"]],
        "deadline_hours": 1,
    }
    await client.whistle(iid, call)
    await wait_for_whistle(client, iid)
    await client.act(iid, "report-in", as_(CITY_MGMT, note="科长带队到场"))
    await client.act(iid, "report-in", as_(TOWNSHIP))
    await client.act(iid, "whistle-plan", as_(CENTRE, note="城管清理摊位，镇政府安置摊贩"))
    await client.act(iid, "whistle-handle", as_(TOWNSHIP, note="已在菜市场内安排临时摊位"))
    # 区水务局 misses the report-in deadline, then reports in late
    whistle_wf = client.client.get_workflow_handle(f"{iid}.whistle-1")
    await env.fast_forward(whistle_wf, timedelta(hours=1, minutes=1))
    await client.act(iid, "report-in", as_(WATER))
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    await client.act(iid, "close-whistle", as_(CENTRE, note="联合处置完毕"))
    return [iid]


@path("emergency_linkage")
async def emergency_linkage(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await client.act(
        iid, "emergency-linkage", as_(BUREAU, units=["119", "120"], note="现场有人受伤")
    )
    await wait_for_emergency(client, iid)
    for code in ("119", "120"):
        responder = {"role": "emergency_unit", "unit": code}
        await client.act(iid, "acknowledge", as_(responder, note="已出动"))
    await police_loop(client, iid)
    return [iid]


@path("police_linkage")
async def police_linkage(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "police-linkage", as_(CITY_MGMT, reason="执法受阻，摊贩扬言动手"))
    await started_loop(env, iid, "police")
    await police_loop(client, iid)
    await client.act(iid, "feedback", as_(CITY_MGMT, result="在民警配合下完成清理"))
    await finish_hotline(client, iid)
    return [iid]


@path("police_push_approved")
async def police_push_approved(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await client.act(iid, "command", as_(BUREAU, unit=STATION["unit"]))
    await client.act(iid, "arrive", as_(STATION))
    reason = "现场核实为物业纠纷，不构成治安案件，需住建部门处理"
    await client.act(iid, "push-to-bureau", as_(STATION, reason=reason))

    async def pending() -> None:
        assert (await client.status(iid)).incident.police_push_pending is not None

    await eventually(pending, seconds=15)
    await client.act(iid, "approve-push", as_(BUREAU))
    await handle_order(client, iid, unit=CITY_MGMT)
    await client.act(iid, "feedback", as_(STATION, result="已移交12345，现场无治安问题"))
    await finish_hotline(client, iid)
    return [iid]


@path("repeat_joins")
async def repeat_joins(env, client):
    first = make_report("hotline")
    second = make_report("police", caller=first["caller"])  # the same caller, on 110
    with env.with_time_skipping_disabled():
        opened = await client.divert(first)
        joined = await client.divert(second)
    iid = opened.incident_id
    if joined.incident_id != iid or joined.matched_by != "caller":
        raise AssertionError(f"the repeat did not join {iid}: {joined}")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid, f"police-{second['reference']}"]  # the repeat's own incident closes as merged


@path("same_push_again")
async def same_push_again(env, client):
    report = make_report("hotline")
    with env.with_time_skipping_disabled():
        first, second = await asyncio.gather(client.divert(report), client.divert(report))
        third = await client.divert(report)
    iid = first.incident_id
    if not (iid == second.incident_id == third.incident_id and third.resent):
        raise AssertionError(f"the same push made more than one incident: {first, second, third}")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid]


@path("harassment_case")
async def harassment_case(env, client):
    first = make_report("hotline")
    reports = [first] + [make_report("hotline", caller=first["caller"]) for _ in range(7)]
    with env.with_time_skipping_disabled():
        answers = [await client.divert(report) for report in reports]
    case = answers[-1].harassment_case
    if not case:
        raise AssertionError(f"eight reports from one caller opened no case: {answers[-1]}")
    iid = answers[0].incident_id
    await client.act(case, "accept", as_(BUREAU))
    await police_loop(client, case)
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    await wait_for_whistle(client, iid)  # its repeats blew the repeat-reports whistle
    await client.act(iid, "close-whistle", as_(BUREAU))
    # the case, the caller's incident, and the repeat that tipped the rule (it opened the case)
    return [case, iid, f"hotline-{reports[-1]['reference']}"]


# --- collecting the histories -------------------------------------------------------------------


@path("periodic_report")
async def periodic_report(env, client):
    """A monthly review (月研判), as a schedule's run makes it, for a month gone by."""
    from linkage.domain.record_inputs import ReportRunInput

    wid = "report-monthly-2026-11"
    run = ReportRunInput(kind="monthly", period="2026-11")
    await client.client.execute_workflow("PeriodicReport", run, id=wid, task_queue=TASK_QUEUE)
    return [wid]


async def workflows_of(client: Client, iid: str) -> list[str]:
    """The workflow IDs an incident ran, in a fixed order; each is waited for until it ends."""
    ids = []
    for wid in (iid, f"{iid}.police", f"{iid}.hotline"):
        if await exists(client, wid):
            ids.append(wid)
    for kind in ("whistle", "emergency"):
        number = 1
        while await exists(client, f"{iid}.{kind}-{number}"):
            ids.append(f"{iid}.{kind}-{number}")
            number += 1
    return ids


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def closed(client: Client, workflow_id: str) -> str:
    """Wait for a workflow to end; its type."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + 15
    while True:
        description = await handle.describe()
        if description.status is WorkflowExecutionStatus.COMPLETED:
            return description.workflow_type
        if description.status is not WorkflowExecutionStatus.RUNNING:
            raise RuntimeError(f"{workflow_id} ended {description.status.name}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workflow_id} is still running after its incident ended")
        await asyncio.sleep(0.1)


async def run_path(
    env: WorkflowEnvironment, client: LinkageClient, name: str, out: Path
) -> list[Path]:
    incidents = await asyncio.wait_for(PATHS[name](env, client), PATH_TIMEOUT.total_seconds())
    for iid in incidents:
        if not iid.startswith("report-"):  # a periodic report has ended already
            await asyncio.wait_for(client.result(iid), PATH_TIMEOUT.total_seconds())
    written = []
    counts: Counter[str] = Counter()
    for iid in incidents:
        for wid in await workflows_of(env.client, iid):
            kind = await closed(env.client, wid)
            counts[kind] += 1
            history = await env.client.get_workflow_handle(wid).fetch_history()
            target = out / f"{name}__{kind}__{counts[kind]}.json"
            target.write_text(history.to_json() + "\n", encoding="utf-8")
            written.append(target)
    return written


async def main(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(PATHS)
    unknown = sorted(set(names) - set(PATHS))
    if unknown:
        raise SystemExit(f"unknown path(s) {', '.join(unknown)}; one of: {', '.join(PATHS)}")
    started = time.monotonic()
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        data_converter=PLAIN_CONVERTER,  # saved in the clear: test data, replayable anywhere
        search_attributes=SEARCH_ATTRIBUTES,
    )
    failed = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="linkage-histories-") as workdir,
            ThreadPoolExecutor(max_workers=16) as executor,
        ):
            store = Store(f"sqlite:///{Path(workdir) / 'records.db'}")
            worker = build_worker(env.client, store, TASK_QUEUE, executor)
            running = asyncio.create_task(worker.run())
            client = LinkageClient(env.client, TASK_QUEUE)
            try:
                results = await asyncio.gather(
                    *(run_path(env, client, name, out) for name in names), return_exceptions=True
                )
            finally:
                await worker.shutdown()
                await running
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                failed.append(name)
                print(f"{name}: FAILED: {type(result).__name__}: {result}", file=sys.stderr)
                continue
            for target in result:
                shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
                print(shown, file=OUT, flush=True)
    finally:
        await env.shutdown()
    print(
        f"{len(names) - len(failed)}/{len(names)} paths in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default tests/histories")
    parser.add_argument("--only", nargs="+", metavar="PATH", help=f"of: {', '.join(PATHS)}")
    return parser.parse_args(argv)


if __name__ == "__main__":
    os.environ.setdefault("LINKAGE_LOG_LEVEL", "WARNING")  # the project's info lines, left out
    args = parse_args()
    # The files written alone on stdout; whatever the dev server prints goes to stderr.
    sys.stdout.flush()
    OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    code = asyncio.run(main(args))
    OUT.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown, which the Temporal client's threads can abort
