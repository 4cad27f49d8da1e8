"""Benchmark: the project beside a raw Temporal shape, a burst of reports, many open incidents.

Starts its own Temporal dev server (a SQLite file with the pragmas `linkage up` uses) and, in
this process, a worker for the project and one for a raw incident shape (scripts/bench_shapes.py),
then measures:

  throughput   N raw incidents, then N happy-path incidents each way, all at once: incidents/s
               and history events per incident (the incident and its loops); project/raw.
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

    .venv/bin/python scripts/bench.py [--incidents 40] [--open 10000 | --skip-open] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench_phases as phases
import bench_shapes as shapes
from bench_phases import (
    QUEUE,
    RAW_QUEUE,
    burst,
    cli_burst,
    cli_env,
    cli_phase,
    dies_with_the_bench,
    hotline_to_police,
    open_phase,
    police_to_hotline,
    problem,
    progress,
    project_events,
    raw_events,
    throughput,
)
from temporalio.client import Client

from linkage.client import LinkageClient
from linkage.ops.devserver import dev_server_command
from linkage.records.store import Store
from linkage.trust.temporal import DATA_CONVERTER
from workers.main import build_worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DevServer:
    """The bench's own Temporal dev server (the pragmas and search attributes `linkage up`
    uses), which ends with the bench however the bench ends."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        command = dev_server_command(self.port, free_port(), workdir / "temporal.db")
        log = (workdir / "dev-server.log").open("wb")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=log, preexec_fn=dies_with_the_bench
        )
        self.client: Client | None = None

    async def start(self) -> DevServer:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client = await Client.connect(
                    f"localhost:{self.port}", data_converter=DATA_CONVERTER
                )
                return self
            except RuntimeError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the dev server did not start; see dev-server.log") from None
                await asyncio.sleep(0.3)

    async def shutdown(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def credentials(workdir: Path) -> None:
    """A keyring, an intake secret and a signing key of the run's own, in the environment every
    process of the run inherits (the client here, the worker and the CLI it starts), and a token
    of the bureau's for the CLI."""
    from linkage.domain.units import load_register
    from linkage.trust.principals import make_principal
    from linkage.trust.tokens import create_key, issue_token

    key = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["LINKAGE_CODEC_KEYS"] = f"bench:{key}"
    os.environ["LINKAGE_SECRET"] = secrets.token_hex(16)
    os.environ["LINKAGE_STATE_DIR"] = str(workdir)
    os.environ["LINKAGE_TOKEN_KEY"] = str(create_key(workdir / "token-key"))
    bureau = make_principal(load_register(), name="bench", role="police_bureau", unit="区公安分局")
    os.environ["LINKAGE_TOKEN"] = issue_token(bureau, days=1)[0]


# --- the run ------------------------------------------------------------------------------------


async def guarded(name: str, phase) -> dict:
    try:
        return await phase
    except Exception as err:  # one phase failing still leaves the others' figures
        progress(f"{name}: failed: {problem(err)}")
        return {"error": problem(err)}


async def run(args: argparse.Namespace, workdir: Path) -> dict:
    progress(f"starting a dev server; its state and every log in {workdir}")
    env = await DevServer(workdir).start()
    address = f"localhost:{env.port}"
    client = LinkageClient(env.client, QUEUE)
    store = Store(f"sqlite:///{workdir / 'records.db'}")
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

    try:
        with ThreadPoolExecutor(16) as executor, ThreadPoolExecutor(16) as raw_executor:
            async with (
                build_worker(env.client, store, QUEUE, executor),
                shapes.raw_worker(env.client, RAW_QUEUE, raw_executor),
            ):
                for name, flow, count in (
                    ("warm-up raw", raw, raw_count),
                    ("warm-up", p2h, project),
                ):
                    await guarded(name, throughput(name, flow, count, 2, min(timeout, 60)))
                phases = (
                    ("raw", "raw shape", raw, raw_count),
                    ("police_to_hotline", "110 → 12345", p2h, project),
                    ("hotline_to_police", "12345 → 110", h2p, project),
                )
                for key, name, flow, count in phases:
                    results[key] = await guarded(name, throughput(name, flow, count, n, timeout))
                raw_rate = results["raw"].get("incidents_per_s") or 0
                for key in ("police_to_hotline", "hotline_to_police"):
                    rate = results[key].get("incidents_per_s")
                    if raw_rate and results[key].get("completed"):
                        results[key]["ratio_to_raw"] = round(rate / raw_rate, 2)
                results["burst"] = await guarded("burst", burst(client, timeout))
                cli = cli_env(address, env.client.namespace, QUEUE, workdir)
                results["cli_burst"] = await guarded("cli burst", cli_burst(cli, workdir))
                closed_id = results["police_to_hotline"].get("sample_id")
                open_id = results["burst"].get("open_id")
                results["cli"] = await guarded("cli", cli_phase(cli, closed_id, open_id))
                if not args.skip_open:
                    budget = max(timeout, args.open / 5)
                    phase = open_phase(env, address, workdir, args.open, budget)
                    results["open"] = await guarded("open", phase)
    finally:
        progress("stopping the dev server")
        await env.shutdown()
        for database in workdir.glob("*.db*"):
            database.unlink()
        progress(f"the logs stay in {workdir}")
    return results


# --- the table ----------------------------------------------------------------------------------


def failure_lines(row: dict, indent: str = "    ") -> list[str]:
    lines = [f"{indent}FAILED: {row['error']}"] if row.get("error") else []
    for what, times in (row.get("failures") or {}).items():
        lines.append(f"{indent}FAILED x{times}: {what}")
    return lines


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


def table(results: dict) -> str:
    settings = results["settings"]
    lines = [
        f"throughput: {settings['incidents']} incidents at once, each kind on its own "
        f"({settings['cpus']} CPUs)",
        f"  {'':<24}{'incidents/s':>12}{'events/incident':>17}{'events/s':>10}"
        f"{'done':>10}{'wall':>9}{'vs raw':>8}",
    ]
    for key, name in (
        ("raw", "raw Temporal shape"),
        ("police_to_hotline", "project 110 → 12345"),
        ("hotline_to_police", "project 12345 → 110"),
    ):
        row = results.get(key, {})
        if "incidents" in row:
            ratio = f"{row['ratio_to_raw']:.2f}" if "ratio_to_raw" in row else ""
            lines.append(
                f"  {name:<24}{row['incidents_per_s']:>12.2f}{row['events_per_incident']:>17.0f}"
                f"{row['events_per_s']:>10}{row['completed']:>6}/{row['incidents']:<3}"
                f"{row['seconds']:>8.1f}s{ratio:>8}"
            )
        lines += [f"  {name}:"] * bool(failure_lines(row)) + failure_lines(row)
    ratio = results.get("police_to_hotline", {}).get("ratio_to_raw")
    if ratio is not None:
        verdict = "meets" if ratio >= 0.8 else "below"
        lines.append(f"  project/raw, 110 → 12345: {ratio:.2f} ({verdict} the target of 0.8)")

    row = results.get("burst", {})
    lines.append("")
    if "reports" in row:
        lines += [
            f"burst: {row['reports']} reports at once ({row['expected_incidents']} distinct, "
            f"{row['repeats']} repeats) — {'OK' if row['ok'] else 'NOT OK'}",
            f"  answered {row['answered']}/{row['reports']}, refused {row['refused']}, "
            f"no answer {row['no_answer']}, answered 'closed' {row['closed_answers']}",
            f"  distinct incidents {row['distinct_incidents']} (want "
            f"{row['expected_incidents']}), new {row['new']}",
            f"  repeats in their original's incident {row['repeats_in_original']}/"
            f"{row['repeats']} (checked {row['repeats_checked']}; matched by "
            f"{row['repeats_matched_by']})",
            f"  wall {row['seconds']:.1f}s; per answered call median "
            f"{seconds(row['latency_p50_s'])}, max {seconds(row['latency_max_s'])}",
        ]
        lines += [f"  misplaced: {m}" for m in row["misplaced"]]
    else:
        lines.append("burst:")
    lines += failure_lines(row, "  ")

    def cli_line(label: str, row: dict | None) -> list[str]:
        if not row:
            return []
        text = f"  {label:<32}{row['median_s']:>7.2f}s median of 5 (min {row['min_s']:.2f}s)"
        if "listed" in row:
            text += f", {row['listed']} listed"
        if row["exit_code"]:
            text += f" — FAILED (exit {row['exit_code']}): {' '.join(row.get('error', []))}"
        return [text]

    row = results.get("cli_burst", {})
    if "processes" in row:
        lines += [
            "",
            f"cli burst: {row['processes']} `linkage divert` processes at once on SQLite — "
            f"{row['landed']} landed, {row['new_incidents']} incidents, {row['seconds']:.1f}s",
        ]
    lines += failure_lines(row, "  ")

    cli = results.get("cli", {})
    lines += ["", "cli (a subprocess each run, as a principal with a token of the bureau's)"]
    lines += cli_line("linkage status (closed)", cli.get("status_closed"))
    lines += cli_line("linkage status (open)", cli.get("status_open"))
    lines += cli_line("linkage list --overdue", cli.get("list_overdue"))
    lines += failure_lines(cli, "  ")

    row = results.get("open")
    if row is not None:
        lines += [
            "",
            f"open: {row['incidents']} police pushes left waiting on a worker of their own",
        ]
        if "diverted" in row:
            lines.append(
                f"  diverted {row['diverted']} in {row['divert_seconds']:.1f}s "
                f"({row['diverts_per_s']:.1f}/s); overdue {row.get('overdue')} "
                f"{row.get('overdue_wait_s')}s after the last"
            )
        if "after" in row:
            before, after = row["before"], row["after"]
            lines.append(
                f"  worker RSS {before['rss_mb']} MB before → {after['rss_mb']} MB after "
                f"(peak {after['peak_mb']} MB); past the first tenth "
                f"{row.get('kb_per_incident')} KB per open incident"
            )
        lines += cli_line(
            f"linkage list --overdue ({row.get('overdue')} overdue)", row.get("list_overdue")
        )
        lines += cli_line("linkage status (overdue)", row.get("status_overdue"))
        lines += failure_lines(row, "  ")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=40, help="throughput: incidents per kind")
    parser.add_argument("--open", type=int, default=10000, help="open incidents left waiting")
    parser.add_argument("--skip-open", action="store_true", help="leave out the open phase")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a phase may take")
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
    phases.CONSOLE = os.fdopen(os.dup(2), "w", encoding="utf-8")
    log = os.open(workdir / "bench.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        results = asyncio.run(run(args, workdir))
    except BaseException:
        phases.CONSOLE.write(traceback.format_exc())
        phases.CONSOLE.flush()
        raise
    text = json.dumps(results, ensure_ascii=False, indent=2) if args.json else table(results)
    out.write(text + "\n")
    out.flush()


if __name__ == "__main__":
    main()
    os._exit(0)  # skip interpreter teardown, which the Temporal client's threads can abort
