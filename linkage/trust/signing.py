"""Where commands are signed and checked (linkage.trust.commands): a client interceptor signs
every update and signal the front door sends; a worker interceptor refuses, in the update's
validator, an update without a valid proof, ignores an unsigned signal (and logs it), and signs
the signals the project's own workflows send each other.

Validators never run on replay, so the refusal never changes what a history does; a signal's
proof is checked again on replay with the same keys, which is why a key is kept (listed) as
long as histories it signed may be replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio import client as temporal_client
from temporalio import converter, workflow
from temporalio import worker as temporal_worker
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from linkage.trust.commands import HEADER, CommandKeys, load_command_keys

# The whistle signal of earlier clients is refused and recorded by its own handler.
RECORDED_BY_HANDLER = {"blow_whistle"}
_PAYLOADS = converter.PayloadConverter.default


def _signed(
    headers: Mapping[str, Payload], keys: CommandKeys, what: Sequence[str], args: Sequence[Any]
) -> dict[str, Payload]:
    return {**headers, HEADER: _PAYLOADS.to_payloads([keys.sign(what, args)])[0]}


def proof_in(headers: Mapping[str, Payload]) -> str | None:
    found = headers.get(HEADER)
    if found is None:
        return None
    try:
        value = _PAYLOADS.from_payloads([found], [str])[0]
    except Exception:  # a forged header of any shape: no proof
        return None
    return value if isinstance(value, str) else None


class CommandSigner(temporal_client.Interceptor):
    """For every client of the front door (LinkageClient wraps its client with it)."""

    def __init__(self, keys: CommandKeys | None = None) -> None:
        self._keys = keys

    @property
    def keys(self) -> CommandKeys:
        if self._keys is None:
            self._keys = load_command_keys()
        return self._keys

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _SigningClient(next, self)


class _SigningClient(temporal_client.OutboundInterceptor):
    def __init__(self, next: temporal_client.OutboundInterceptor, signer: CommandSigner) -> None:
        super().__init__(next)
        self._signer = signer

    async def start_workflow_update(self, input):
        input.update_id = input.update_id or str(uuid.uuid4())  # signed with it
        what = ("update", input.id, input.update, input.update_id)
        input.headers = _signed(input.headers, self._signer.keys, what, input.args)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(self, input):
        update = input.update_workflow_input
        update.update_id = update.update_id or str(uuid.uuid4())
        what = ("update", input.start_workflow_input.id, update.update, update.update_id)
        update.headers = _signed(update.headers, self._signer.keys, what, update.args)
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input):
        what = ("signal", input.id, input.signal, "")
        input.headers = _signed(input.headers, self._signer.keys, what, input.args)
        return await super().signal_workflow(input)


def signed_client(client: temporal_client.Client) -> temporal_client.Client:
    """The client itself when it signs already, else one beside it (same connection) that
    does."""
    config = client.config()
    if any(isinstance(i, CommandSigner) for i in config["interceptors"]):
        return client
    return temporal_client.Client(
        **{**config, "interceptors": [*config["interceptors"], CommandSigner()]}
    )


class CommandGuard(temporal_worker.Interceptor):
    """For the workers that run the project's workflows."""

    def __init__(self, keys: CommandKeys | None = None) -> None:
        self.keys = keys or load_command_keys()

    def workflow_interceptor_class(self, input):
        # made here, outside the sandbox, with the keys in it
        return type("GuardedWorkflow", (_GuardedInbound,), {"keys": self.keys})


class _GuardedInbound(temporal_worker.WorkflowInboundInterceptor):
    keys: CommandKeys

    def init(self, outbound: temporal_worker.WorkflowOutboundInterceptor) -> None:
        super().init(_SigningOutbound(outbound, self.keys))

    def handle_update_validator(self, input) -> None:
        what = ("update", workflow.info().workflow_id, input.update, input.id)
        why = self.keys.check(proof_in(input.headers), what, input.args)
        if why is not None:
            workflow.logger.warning("update %s refused: %s", input.update, why)
            raise ApplicationError(
                f"{input.update} refused: {why}", type="UnsignedCommand", non_retryable=True
            )
        super().handle_update_validator(input)

    async def handle_signal(self, input) -> None:
        # An incident opened before signing came received its signals unsigned: replaying its
        # history must take them as it did then (no marker: not checked); from the first signal
        # this code handles, a marker in the history says every later one is checked.
        if input.signal not in RECORDED_BY_HANDLER and workflow.patched("signed-signals"):
            what = ("signal", workflow.info().workflow_id, input.signal, "")
            why = self.keys.check(proof_in(input.headers), what, input.args)
            if why is not None:
                workflow.logger.warning("signal %s ignored: %s", input.signal, why)
                return
        await super().handle_signal(input)


class _SigningOutbound(temporal_worker.WorkflowOutboundInterceptor):
    def __init__(self, next: temporal_worker.WorkflowOutboundInterceptor, keys: CommandKeys):
        super().__init__(next)
        self._keys = keys

    async def signal_external_workflow(self, input) -> None:
        what = ("signal", input.workflow_id, input.signal, "")
        input.headers = _signed(input.headers, self._keys, what, input.args)
        await super().signal_external_workflow(input)

    async def signal_child_workflow(self, input) -> None:
        what = ("signal", input.child_workflow_id, input.signal, "")
        input.headers = _signed(input.headers, self._keys, what, input.args)
        await super().signal_child_workflow(input)
