"""What `linkage up` is running, in the state directory (`up.json`): its own PID and, for each
process it started, the PID and the command line, and the addresses it serves.

It lets a new `linkage up` stop what a crashed one left behind (by PID, and only a process whose
command line is still the one recorded, never by name), and lets the CLI, a worker started on
its own and the demo find the system without being told its ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path

from linkage.settings.paths import state_dir

RUN_FILE = "up.json"


def path() -> Path:
    return state_dir() / RUN_FILE


def read() -> dict:
    """What the running (or last crashed) `linkage up` recorded; {} when there is none."""
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(data: dict) -> None:
    """Written aside and moved into place, so no reader sees half of it."""
    target = path()
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".up-")
    try:
        os.write(fd, json.dumps(data, ensure_ascii=False, indent=1).encode())
        os.close(fd)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def remove(pid: int) -> None:
    """Remove the file if it is still this `linkage up`'s."""
    if read().get("pid") == pid:
        with contextlib.suppress(FileNotFoundError):
            path().unlink()


def command_line(pid: int) -> list[str] | None:
    """The process's command line, or None when it is gone (or cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def running(pid: int, recorded: list[str]) -> bool:
    """Whether the PID is still the process recorded (same command line), not a newcomer that
    was given the same number."""
    return bool(pid) and command_line(pid) == recorded


def stop(pid: int, recorded: list[str], seconds: float = 15) -> bool:
    """Stop the recorded process if it still runs: SIGTERM, then SIGKILL. True if it ran."""
    if not running(pid, recorded):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not running(pid, recorded):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def running_record() -> dict:
    """What a running `linkage up` of this state directory recorded; {} when none runs."""
    data = read()
    up = data.get("up") or {}
    return data if running(int(data.get("pid") or 0), up.get("command") or []) else {}


def temporal_address() -> str | None:
    """The dev server's address, when a `linkage up` of this state directory runs."""
    return (running_record().get("temporal") or {}).get("address")


def ui_url() -> str | None:
    return running_record().get("ui")


def api_url() -> str | None:
    """The HTTP API's address, when a `linkage up` of this state directory runs."""
    return (running_record().get("api") or {}).get("url")
