"""`linkage up` on one machine: killed outright, it leaves its dev server, API and codec server
running; the next `linkage up` stops them (by the PIDs it recorded) and starts afresh, and the
CLI finds the system's port by itself. A second `linkage up` beside a running one is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from linkage.settings import runfile
from tests.test_web_ui_codec import ROOT, free_port, wait_for


def up(env: dict, ports: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "linkage.interfaces.cli.main", "up", "--port", str(ports["port"]),
         "--ui-port", str(ports["ui"]), "--api-port", str(ports["api"]),
         "--codec-port", str(ports["codec"])],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "gone"


def test_up_recovers_from_a_crash_and_refuses_a_second_one(tmp_path):
    state = tmp_path / "state"
    ports = {name: free_port() for name in ("port", "ui", "api", "codec")}
    env = {**os.environ, "LINKAGE_STATE_DIR": str(state)}
    env.pop("LINKAGE_TEMPORAL_ADDRESS", None)
    env.pop("LINKAGE_DATABASE_URL", None)
    first = up(env, ports, tmp_path / "first.log")
    second, children = None, []
    try:
        wait_for(f"http://localhost:{ports['api']}/openapi.json")
        recorded = json.loads((state / runfile.RUN_FILE).read_text())
        children = [recorded[name]["pid"] for name in ("temporal", "api", "codec")]

        beside = subprocess.run(
            [sys.executable, "-m", "linkage.interfaces.cli.main", "up", "--port", str(free_port())],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert beside.returncode == 1 and "linkage up is already running" in beside.stderr

        os.kill(first.pid, signal.SIGKILL)  # a crash: nothing is stopped
        first.wait(10)
        assert all(alive(pid) for pid in children)

        second = up(env, ports, tmp_path / "second.log")
        deadline = time.monotonic() + 60  # (the leftover API answers until it is stopped)
        log = tmp_path / "second.log"
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in children) or "stopped what an earlier" not in log.read_text()
        ):
            time.sleep(0.2)
        assert not any(alive(pid) for pid in children)
        assert "stopped what an earlier linkage up left running" in log.read_text()
        wait_for(f"http://localhost:{ports['api']}/openapi.json")  # the new one's

        listed = subprocess.run(  # no address given: the CLI finds the system's port
            [sys.executable, "-m", "linkage.interfaces.cli.main", "list", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
    finally:
        for pid in children:  # should the test fail halfway, nothing is left running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        for process in (second, first):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
    assert not (state / runfile.RUN_FILE).exists()  # a clean stop leaves nothing behind
