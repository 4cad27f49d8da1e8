"""Save the event histories of every workflow type on every path the tests drive.

Starts a Temporal dev server of its own (time skipping, as the tests have it), a worker on a
temporary SQLite records file, drives each path through LinkageClient, waits for its incidents
to finish, and writes the history of every workflow the path ran:

    tests/histories/<path>__<workflow type>__<n>.json

n counts the workflows of that type in the path, in a fixed order (the path's incidents in
turn; of each, the incident, its police loop, its 12345 loop, its whistles, its emergency
linkages). Existing files of the same name are overwritten; others are left alone.
tests/test_replay.py replays every file against the current code. The paths themselves are
in scripts/histories/ (one module for each kind); this script runs them and saves what they ran.

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
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from histories import PATHS
from histories.steps import TASK_QUEUE
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from linkage.domain.search_attributes import SEARCH_ATTRIBUTES
from linkage.ops.devserver import temporal_binary
from linkage.records.store import Store
from linkage.trust.temporal import PLAIN_CONVERTER
from workers.main import build_worker

OUT = sys.stdout  # where the files written are listed
DEFAULT_OUT = ROOT / "tests" / "histories"
PATH_TIMEOUT = timedelta(seconds=90)  # one path; they run at once


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


HISTORY_KEYS = Path(__file__).resolve().parent.parent / "tests" / "histories" / "command-keys"


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
    # Commands signed with the histories' own key (known to all, for tests only), so that
    # tests/test_replay.py checks the signals' proofs on replay as a worker does.
    os.environ["LINKAGE_COMMAND_KEYS"] = HISTORY_KEYS.read_text().strip()
    args = parse_args()
    # The files written alone on stdout; whatever the dev server prints goes to stderr.
    sys.stdout.flush()
    OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    code = asyncio.run(main(args))
    OUT.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown, which the Temporal client's threads can abort
