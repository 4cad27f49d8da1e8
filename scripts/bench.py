"""Benchmark: the project beside a raw Temporal shape, a burst of reports, many open incidents.

Starts its own Temporal dev server (a SQLite file with the pragmas `linkage up` uses) and, in
this process, a worker for the project and one for a raw incident shape (scripts/bench_shapes.py),
then measures:

  throughput   N raw incidents, then N happy-path incidents each way, all at once: incidents/s
               and history events per incident (the incident and its loops); project/raw.
               --rounds R runs both paths R times, each round between two runs of the raw
               shape, and reads the targets against the median of the rounds' ratios.
  burst        500 reports at once, 100 of them repeats (50 the same report again, 50 another
               report from an earlier caller): every call answered, 400 incidents, each repeat
               in its original's incident, the wall time.
  cli burst    60 `linkage divert` processes at once on the embedded SQLite records: all land.
  cli          `linkage status ID` and `linkage list --overdue` as subprocesses, median of 5.
  open         --open N incidents diverted and left waiting, on a worker of their own run as
               `linkage worker` with review deadlines of about a second: the worker's RSS before
               and after, and `linkage status` / `linkage list --overdue` once they are overdue.

Everything runs with a keyring, an intake secret and a signing key of the run's own, in a
temporary folder; the CLI acts as a principal of its own (a token of the bureau's). The dev server
and the worker end with the bench, however it ends. Progress goes to stderr; the figures to
stdout, as a table or, with --json, as JSON.

The phases are in bench_phases.py (throughput, burst), bench_commands.py (the CLI) and
bench_open.py; what they share (progress, the dev server, credentials) in bench_support.py;
the table in bench_table.py.

    .venv/bin/python scripts/bench.py [--incidents 40] [--rounds 1] [--open 10000 | --skip-open]
                                      [--throughput-only] [--no-profile] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import traceback
from pathlib import Path

import bench_shapes as shapes
import bench_support as support
import bench_workers as workers
from bench_commands import cli_burst, cli_env, cli_phase
from bench_open import open_phase
from bench_phases import (
    burst,
    hotline_to_police,
    police_to_hotline,
    project_events,
    raw_events,
    throughput,
)
from bench_support import QUEUE, RAW_QUEUE, DevServer, credentials, problem, progress
from bench_table import table

from linkage.client import LinkageClient


async def guarded(name: str, phase) -> dict:
    try:
        return await phase
    except Exception as err:  # one phase failing still leaves the others' figures
        progress(f"{name}: failed: {problem(err)}")
        return {"error": problem(err)}


def add_ratios(results: dict) -> None:
    """Each path's incidents/s over the raw shape's, taken as the mean of its two runs."""
    raws = [results[k].get("incidents_per_s") for k in ("raw", "raw_again") if k in results]
    raws = [r for r in raws if r]
    if not raws:
        return
    results["raw_mean_per_s"] = round(sum(raws) / len(raws), 2)
    for key in ("police_to_hotline", "hotline_to_police"):
        if results[key].get("completed"):
            ratio = results[key]["incidents_per_s"] / results["raw_mean_per_s"]
            results[key]["ratio_to_raw"] = round(ratio, 2)


async def more_rounds(count: int, first: dict, flows, counts, n: int, timeout: float) -> dict:
    """`count` more rounds of both paths, each after the raw shape's last run and before its
    next: a ratio per round over the raw runs on either side, and the median of every round's
    (the first round's too). The machine's speed drifts within minutes; the median of several
    rounds is what a target is read against."""
    raw, p2h, h2p = flows
    raw_count, project = counts
    ratios = {"police_to_hotline": [], "hotline_to_police": []}
    for key in ratios:
        if "ratio_to_raw" in first.get(key, {}):
            ratios[key].append(first[key]["ratio_to_raw"])
    before = first.get("raw_again", {}).get("incidents_per_s")
    for number in range(2, count + 2):
        rates = {}
        for key, name, flow, events in (
            ("police_to_hotline", f"110 → 12345, round {number}", p2h, project),
            ("hotline_to_police", f"12345 → 110, round {number}", h2p, project),
            ("raw", f"raw shape, after round {number}", raw, raw_count),
        ):
            row = await guarded(name, throughput(name, flow, events, n, timeout))
            rates[key] = row.get("incidents_per_s") if row.get("completed") == n else None
        after = rates.pop("raw")
        if before and after:
            for key, rate in rates.items():
                if rate:
                    ratios[key].append(round(rate / ((before + after) / 2), 2))
        before = after
    return {
        "ratios": ratios,
        "median": {k: statistics.median(v) for k, v in ratios.items() if v},
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict:
    progress(f"starting a dev server; its state and every log in {workdir}")
    env = await DevServer(workdir).start()
    address = f"localhost:{env.port}"
    client = LinkageClient(env.client, QUEUE)
    results: dict = {
        "settings": {
            "incidents": args.incidents,
            "open": None if args.skip_open else args.open,
            "cpus": os.cpu_count(),
            "timeout_s": args.timeout,
        }
    }
    n, timeout = args.incidents, args.timeout

    def raw() -> object:
        return shapes.raw_incident(env.client, RAW_QUEUE)

    def p2h() -> object:
        return police_to_hotline(client)

    def h2p() -> object:
        return hotline_to_police(client)

    async def project(iid: str) -> int:
        return await project_events(client, iid)

    async def raw_count(iid: str) -> int:
        return await raw_events(client, iid)

    cli = cli_env(address, env.client.namespace, QUEUE, workdir)
    worker = workers.project_worker(cli, workdir, QUEUE)
    raw_worker = workers.raw_worker(cli, RAW_QUEUE, workdir)
    try:
        await raw_worker.start(env.client)
        await worker.start(env.client)
        results["worker_pid"] = worker.pid
        for name, flow, count in (("warm-up raw", raw, raw_count), ("warm-up", p2h, project)):
            await guarded(name, throughput(name, flow, count, 2, min(timeout, 60)))
        phases = (  # the raw shape before and after: the machine's drift falls on both sides
            ("raw", "raw shape", raw, raw_count),
            ("police_to_hotline", "110 → 12345", p2h, project),
            ("hotline_to_police", "12345 → 110", h2p, project),
            ("raw_again", "raw shape again", raw, raw_count),
        )
        pids = {"worker": worker.pid, "raw worker": raw_worker.pid}
        pids |= {"Temporal": env.process.pid, "bench (clients)": os.getpid()}
        for key, name, flow, count in phases:
            wanted = not key.startswith("raw") and not args.no_profile
            sampled = workers.Profile(worker.pid, workdir / f"profile-{key}.txt", on=wanted)
            async with sampled as profile:
                with workers.CpuUse(pids) as cpu:
                    results[key] = await guarded(name, throughput(name, flow, count, n, timeout))
            results[key]["cpu_s"] = cpu.used
            if wanted:
                results[key]["profile"] = profile.top()
        add_ratios(results)
        if args.rounds > 1:
            flows, counts = (raw, p2h, h2p), (raw_count, project)
            results["rounds"] = await more_rounds(
                args.rounds - 1, results, flows, counts, n, timeout
            )
        if args.throughput_only:
            return results
        results["burst"] = await guarded("burst", burst(client, timeout))
        results["cli_burst"] = await guarded("cli burst", cli_burst(cli, workdir))
        closed_id = results["police_to_hotline"].get("sample_id")
        open_id = results["burst"].get("open_id")
        results["cli"] = await guarded("cli", cli_phase(cli, workdir, closed_id, open_id))
        if not args.skip_open:
            budget = max(timeout, args.open / 5)
            phase = open_phase(env, address, workdir, args.open, budget)
            results["open"] = await guarded("open", phase)
    finally:
        await asyncio.gather(worker.stop(), raw_worker.stop())
        progress("stopping the dev server")
        await env.shutdown()
        for database in workdir.glob("*.db*"):
            database.unlink()
        progress(f"the logs stay in {workdir}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=40, help="throughput: incidents per kind")
    parser.add_argument("--open", type=int, default=10000, help="open incidents left waiting")
    parser.add_argument("--skip-open", action="store_true", help="leave out the open phase")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a phase may take")
    parser.add_argument(
        "--throughput-only", action="store_true", help="the throughput phases alone"
    )
    parser.add_argument("--no-profile", action="store_true", help="leave the worker unsampled")
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of both paths, each between raw runs"
    )
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args()
    os.environ.setdefault("LINKAGE_LOG_LEVEL", "WARNING")  # the project's info lines, left out
    workdir = Path(tempfile.mkdtemp(prefix="linkage-bench-"))
    credentials(workdir)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed: clean up as on Ctrl-C
    # The figures alone on stdout and the progress alone on stderr: whatever else the dev
    # server, the SDK and the worker print goes to bench.log beside the dev server's state.
    sys.stdout.flush()
    sys.stderr.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    support.CONSOLE = os.fdopen(os.dup(2), "w", encoding="utf-8")
    log = os.open(workdir / "bench.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        results = asyncio.run(run(args, workdir))
    except BaseException:
        support.CONSOLE.write(traceback.format_exc())
        support.CONSOLE.flush()
        raise
    text = json.dumps(results, ensure_ascii=False, indent=2) if args.json else table(results)
    out.write(text + "\n")
    out.flush()


if __name__ == "__main__":
    main()
    os._exit(0)  # skip interpreter teardown, which the Temporal client's threads can abort
