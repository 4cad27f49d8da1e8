"""What every part of scripts/bench.py stands on: its progress line, how a failure is put,
its own Temporal dev server, the run's own credentials, and children that die with it.

The phases (bench_phases.py, bench_commands.py, bench_open.py) report through progress() and
problem(); bench.py points CONSOLE at the terminal and everything else at the bench's log.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from temporalio.client import Client

from linkage.ops.devserver import dev_server_command
from linkage.trust.temporal import DATA_CONVERTER

QUEUE, RAW_QUEUE, OPEN_QUEUE = "linkage-bench", "linkage-bench-raw", "linkage-bench-open"
LINKAGE = str(Path(sys.executable).parent / "linkage")
T0 = time.monotonic()
CONSOLE = sys.stderr  # bench.py points this at the terminal and everything else at its log


def dies_with_the_bench() -> None:
    """preexec_fn: the child is sent SIGTERM when the bench ends, however it ends (Linux), so
    that a bench killed outright leaves no dev server or worker behind."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=CONSOLE, flush=True)


def problem(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160] if text else ''}".rstrip(": ")


def failures(errors: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


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
