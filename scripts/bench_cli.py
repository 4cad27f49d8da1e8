"""How fast the CLI starts: `linkage --help` and `linkage status ID` beside `python -c pass`.

Starts `linkage up` in a state directory of its own (its own ports), diverts the example police
report, then runs each command several times and prints the median and the fastest wall time.
For context it also prints the imports a status cannot do without: Temporal's client (the
query) and SQLAlchemy (the records: the token's revocation check and the audit entry every
status read leaves).

    python scripts/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINKAGE = str(Path(sys.executable).parent / "linkage")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command: list[str], env: dict, runs: int) -> tuple[float, float, int]:
    took = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True)
        took.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(took), min(took), code


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "LINKAGE_STATE_DIR": state}
        for name in (
            "LINKAGE_TEMPORAL_ADDRESS",
            "LINKAGE_DATABASE_URL",
            "LINKAGE_TOKEN",
            "LINKAGE_API_URL",
            "LINKAGE_PROFILE",
        ):
            env.pop(name, None)
        ports = {name: free_port() for name in ("port", "ui-port", "api-port", "codec-port")}
        flags = [f"--{name}={port}" for name, port in ports.items()]
        log = open(Path(state) / "up.log", "w")  # noqa: SIM115  (open while the system runs)
        up = subprocess.Popen(
            [LINKAGE, "up", *flags], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{ports['api-port']}/openapi.json")
            diverted = subprocess.run(
                [LINKAGE, "divert", "examples/police-report.json", "--now", "--json"],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            incident = json.loads(diverted.stdout)["incident_id"]
            python = [sys.executable, "-c"]
            rows = [
                ("python -c pass", [*python, "pass"], None),
                ("import temporalio.client", [*python, "import temporalio.client"], None),
                ("import sqlalchemy", [*python, "import sqlalchemy"], None),
                ("linkage --help", [LINKAGE, "--help"], 0.3),
                (f"linkage status {incident}", [LINKAGE, "status", incident], 0.5),
                ("linkage list --overdue", [LINKAGE, "list", "--overdue"], 1.0),
                ("  direct (LINKAGE_API_URL=none): status", [LINKAGE, "status", incident], None),
                ("  direct (LINKAGE_API_URL=none): list", [LINKAGE, "list", "--overdue"], None),
            ]
            print(f"{'command':<44} {'median':>8} {'fastest':>8}  target")
            direct = {**env, "LINKAGE_API_URL": "none"}
            for label, command, target in rows:
                median, fastest, code = timed(command, direct if "direct" in label else env, runs)
                aim = f"<= {target:g} s" if target else ""
                failed = f"  (exit {code})" if code else ""
                print(f"{label:<44} {median:>7.2f}s {fastest:>7.2f}s  {aim}{failed}")
        finally:
            os.killpg(up.pid, signal.SIGINT)
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
            log.close()


if __name__ == "__main__":
    main()
