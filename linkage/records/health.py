"""Liveness and readiness, for a load balancer or an orchestrator: one place for the HTTP API,
the codec server and the worker.

`GET /healthz`: the process is alive (no I/O). `GET /readyz`: it can take traffic: Temporal
answers (the workflow service's GetSystemInfo), the records database answers (`SELECT 1`), each
within CHECK_SECONDS, and the process's own state allows (a worker starting or shutting down is
not ready); 200 with each check's result, else 503 naming what failed. Neither asks for a token,
so neither says more than the checks' names, their outcome, their time and the kind of error:
no URL, host, user or message of the database's or of Temporal's.

Here, below the workers and the interfaces, so that all three use the same checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from linkage.records.engine import driver_url
from linkage.settings.config import ConfigError

CHECK_SECONDS = 2.0
NO_STORE = {"Cache-Control": "no-store"}

TemporalSource = Callable[[], Awaitable[Client | None]]


class NotConnected(Exception):
    """No Temporal client yet (the process is still starting)."""


def probe_engine(url: str, seconds: float = CHECK_SECONDS) -> Engine:
    """An engine for the probe alone: a connection per probe, given up on within `seconds`. A
    SQLite file is opened read-only, so that probing a path never makes an empty database."""
    parsed = make_url(driver_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:"):
            return create_engine("sqlite://", poolclass=NullPool)
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"

        def opened() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=seconds, check_same_thread=False)

        return create_engine("sqlite://", creator=opened, poolclass=NullPool)
    given_up = {"connect_timeout": max(1, round(seconds))}  # libpq's, in whole seconds
    connect_args = given_up if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(
        parsed, poolclass=NullPool, connect_args=connect_args, hide_parameters=True
    )


def connected_once(connect: Callable[[], Awaitable[Client]]) -> TemporalSource:
    """A Temporal client connected on the first probe (and again after a failed connect)."""
    held: list[Client] = []

    async def source() -> Client:
        if not held:
            held.append(await connect())
        return held[0]

    return source


def _kind(err: BaseException, seconds: float) -> str:
    """What went wrong, without anything the error's message carries."""
    if isinstance(err, TimeoutError):
        return f"no answer within {seconds:g} s"
    if isinstance(err, NotConnected):
        return "not connected yet"
    if isinstance(err, RPCError):
        return f"RPCError {err.status.name}"
    if isinstance(err, DBAPIError) and err.orig is not None:
        return type(err.orig).__name__
    if isinstance(err, RuntimeError):  # the SDK's failed connect
        return "unreachable"
    return type(err).__name__


class Readiness:
    """The checks of one process: Temporal, the records database and, when given, its own
    `state` (a reason it is not ready, or "" when it is)."""

    def __init__(
        self,
        database_url: str,
        temporal: Client | TemporalSource | None,
        state: Callable[[], str] | None = None,
        seconds: float = CHECK_SECONDS,
    ) -> None:
        self.database_url, self.seconds = database_url, seconds
        self._temporal, self._state = temporal, state
        self._engine: Engine | None = None
        # probes of their own: a database that hangs ties up these two threads, nothing else
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="linkage-health")

    async def _temporal_answers(self) -> None:
        source = self._temporal
        client = source if isinstance(source, Client) or source is None else await source()
        if client is None:
            raise NotConnected
        request = GetSystemInfoRequest()
        await client.workflow_service.get_system_info(
            request, timeout=timedelta(seconds=self.seconds)
        )

    def _select_one(self) -> None:
        if self._engine is None:
            self._engine = probe_engine(self.database_url, self.seconds)
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    async def _database_answers(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._select_one)

    async def _timed(self, check: Callable[[], Awaitable[None]]) -> dict:
        started = time.monotonic()
        try:
            await asyncio.wait_for(check(), self.seconds)
        except Exception as err:
            result = {"ok": False, "error": _kind(err, self.seconds)}
        else:
            result = {"ok": True}
        return result | {"ms": round((time.monotonic() - started) * 1000)}

    async def check(self) -> tuple[bool, dict]:
        """(ready, the body of /readyz)."""
        temporal, database = await asyncio.gather(
            self._timed(self._temporal_answers), self._timed(self._database_answers)
        )
        checks = {"temporal": temporal, "database": database}
        reason = self._state() if self._state is not None else ""
        if reason:
            checks["process"] = {"ok": False, "error": reason}
        failed = [name for name, result in checks.items() if not result["ok"]]
        body: dict = {"status": "not ready" if failed else "ready", "checks": checks}
        if failed:
            body["failed"] = failed
        return not failed, body


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "alive"}, headers=NO_STORE)


def readyz(readiness: Callable[[], Readiness]):
    """The /readyz endpoint over the process's readiness (made when first asked)."""

    async def endpoint(_: Request) -> JSONResponse:
        ready, body = await readiness().check()
        return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)

    return endpoint


def add_health_routes(app: Starlette, readiness: Callable[[], Readiness]) -> None:
    """/healthz and /readyz on an app (outside its OpenAPI schema; no token asked)."""
    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_route("/readyz", readyz(readiness), methods=["GET"], include_in_schema=False)


def health_app(readiness: Readiness) -> Starlette:
    app = Starlette()
    add_health_routes(app, lambda: readiness)
    return app


@contextlib.asynccontextmanager
async def serving(app: Starlette, host: str, port: int) -> AsyncIterator[int]:
    """Serve the app beside the process's own work (uvicorn, in this event loop) until the
    block ends; yields the port it listens on. The port is bound at once, so a port in use
    fails here, before anything else starts. The process's signals stay its owner's."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # the owner of the process decides when it stops
            yield

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as err:
        raise ConfigError(f"health server: cannot listen on {host}:{port}: {err}") from None
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
