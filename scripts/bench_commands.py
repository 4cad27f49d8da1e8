"""The CLI phases of scripts/bench.py: `linkage` commands as subprocesses, as a principal.

cli burst: 60 `linkage divert` processes at once on the embedded SQLite records; cli: how long
`linkage status ID` and `linkage list --overdue` take, median of 5, read through the API (as a
desk does, `linkage serve` in a process of its own) and directly (LINKAGE_API_URL=none).
bench_open.py times the same commands against many open incidents.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import bench_shapes as shapes
from bench_support import LINKAGE, failures, progress


def cli_env(address: str, namespace: str, queue: str, workdir: Path, **more: str) -> dict:
    """The CLI as a principal of its own (LINKAGE_TOKEN, set by bench.py), with the bench's
    keyring, against the worker's records database; reading directly unless `more` names an
    API (LINKAGE_API_URL)."""
    return {
        **os.environ,
        "LINKAGE_TEMPORAL_ADDRESS": address,
        "LINKAGE_NAMESPACE": namespace,
        "LINKAGE_TASK_QUEUE": queue,
        "LINKAGE_STATE_DIR": str(workdir),
        "LINKAGE_DATABASE_URL": f"sqlite:///{workdir / 'records.db'}",
        "LINKAGE_API_URL": "none",
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


async def cli_phase(env: dict, workdir: Path, closed_id: str | None, open_id: str | None) -> dict:
    """Each command read directly, then through the API (the rows ending `_api`)."""
    from bench_workers import ApiProcess

    rows = {}
    async with ApiProcess(env, workdir / "api.log") as api:
        for suffix, how in (("", env), ("_api", {**env, "LINKAGE_API_URL": api.url})):
            way = "through the API" if suffix else "directly"
            for label, iid in (("status_closed", closed_id), ("status_open", open_id)):
                if iid:
                    progress(f"cli: linkage status {iid} x5, {way}")
                    rows[label + suffix] = await cli_time(how, "status", iid)
            progress(f"cli: linkage list --overdue x5, {way}")
            rows["list_overdue" + suffix] = await cli_time(how, "list", "--overdue", "--json")
    return rows
