"""The worker's /healthz and /readyz (the checks are linkage.records.health's): served beside the
workers on LINKAGE_WORKER_HEALTH_PORT (off when unset) at LINKAGE_WORKER_HEALTH_HOST (default
127.0.0.1). /readyz is 200 once the workers run and Temporal and the records database answer;
503 while the worker starts, while it shuts down (running activities finishing) and when a
check fails."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from temporalio.client import Client

from linkage.records.health import Readiness, health_app, serving
from linkage.settings.config import ConfigError
from linkage.settings.logs import get_logger

PORT_ENV = "LINKAGE_WORKER_HEALTH_PORT"
HOST_ENV = "LINKAGE_WORKER_HEALTH_HOST"


def health_address() -> tuple[str, int] | None:
    """(host, port) from the environment, or None when the health server is off."""
    given = os.environ.get(PORT_ENV, "").strip()
    if not given:
        return None
    try:
        port = int(given)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"{PORT_ENV}={given!r}: a port number (0 to 65535) is required")
    return os.environ.get(HOST_ENV, "").strip() or "127.0.0.1", port


class WorkerHealth:
    """What /readyz says of the process itself; run_worker moves it along."""

    def __init__(self) -> None:
        self.phase = "starting"
        self.client: Client | None = None
        self.workers = None  # LinkageWorkers, once they run

    def running(self, workers) -> None:
        self.workers, self.phase = workers, "running"

    def stopping(self) -> None:
        self.phase = "shutting down"

    def reason(self) -> str:
        """Why the process is not ready, or "" when it is."""
        if self.phase != "running":
            return self.phase
        workers = (self.workers.main, self.workers.slow)
        if any(w.is_shutdown for w in workers):
            return "workers stopped"
        if not all(w.is_running for w in workers):  # still checking in with the server
            return "starting"
        return ""

    async def temporal(self) -> Client | None:
        return self.client

    @contextlib.asynccontextmanager
    async def serving(
        self, database_url: str, address: tuple[str, int] | None
    ) -> AsyncIterator[int | None]:
        """The health server for the block (nothing when `address` is None); yields its port."""
        if address is None:
            yield None
            return
        host, port = address
        readiness = Readiness(database_url, self.temporal, self.reason)
        async with serving(health_app(readiness), host, port) as bound:
            get_logger().info("health server listening", host=host, port=bound)
            yield bound
