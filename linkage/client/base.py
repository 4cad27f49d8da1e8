"""What every part of the client shares: the Temporal client, the records, the register of
units, and how an incident's handle and its notes are read."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from linkage.client.errors import LinkageError
from linkage.domain.units import Register, load_register
from linkage.records.store import Store
from linkage.settings.config import Settings
from linkage.trust.signing import signed_client
from linkage.trust.temporal import address, connect
from workflows.contracts import IncidentSummary


class ClientBase:
    """The parts of LinkageClient stand on this: each reaches Temporal, the records and the
    register through it, so that no part imports another to get at them."""

    def __init__(
        self,
        client: Client,
        task_queue: str = "linkage",
        register: Register | None = None,
        store: Store | None = None,
    ) -> None:
        # every update and signal carries its proof (no client: a records-only use)
        self.client = signed_client(client) if client is not None else client
        self.task_queue = task_queue
        self._register = register
        self._store = store

    @property
    def store(self) -> Store:
        """The records database (the work queues), opened when first needed."""
        if self._store is None:
            self._store = Store(Settings().database_url)
        return self._store

    @property
    def database_url(self) -> str:
        """The records database's URL (its store's, or the one it would open)."""
        return self._store.url if self._store is not None else Settings().database_url

    @property
    def register(self) -> Register:
        """The register of units, read when first needed (and again when the file changes)."""
        return self._register or load_register()

    @classmethod
    async def connect(cls, settings: Settings | None = None) -> ClientBase:
        settings = settings or Settings()
        try:
            client = await connect(settings)
        except RuntimeError as err:
            raise LinkageError(
                f"cannot reach Temporal at {address(settings)}: is the system running? ({err})"
            ) from None
        return cls(client, settings.task_queue)

    def _handle(self, incident_id: str) -> WorkflowHandle[Any, IncidentSummary]:
        """The incident's handle; its result is the summary."""
        return self.client.get_workflow_handle(incident_id, result_type=IncidentSummary)

    def _named(self, state):
        """A state whose timeline notes show the register's full names, not its codes."""
        for entry in getattr(state, "timeline", None) or []:
            entry.note = self.humanize(entry.note)
        return state

    def humanize(self, message: str) -> str:
        """A workflow's message with the register's codes (dept.cgj) shown as full names."""
        return self.register.humanize(message)


def transient(err: RPCError) -> bool:
    """Busy or briefly unavailable, or an update the server aborted (it was not applied)."""
    busy = err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)
    return busy or "aborted" in str(err)
