"""What every path of scripts/save_histories.py shares: its type, its registry, the steps.

A path drives one story through LinkageClient and returns the incidents it ran, the main one
first; each module of paths keeps its own registry, and histories/__init__.py puts them in the
order they are run and listed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.testing import WorkflowEnvironment

from linkage.client import LinkageClient
from tests.conftest import eventually
from tests.parties import CENTRE, as_, reply_and_close

TASK_QUEUE = "linkage-histories"

# A path drives one story and returns the incidents it ran, the main one first.
Story = Callable[[WorkflowEnvironment, LinkageClient], Awaitable[list[str]]]


class Paths(dict[str, Story]):
    """A module's paths by name, in the order they are defined."""

    def path(self, name: str) -> Callable[[Story], Story]:
        def register(fn: Story) -> Story:
            self[name] = fn
            return fn

        return register


async def finish_hotline(client: LinkageClient, iid: str, outcome: str = "satisfied") -> None:
    await reply_and_close(client, iid)
    await client.act(iid, "revisit", as_(CENTRE, outcome=outcome))


async def wait_for_whistle(client: LinkageClient, iid: str, number: int = 1) -> None:
    async def started() -> None:
        status = await client.status(iid)
        assert len(status.whistles) >= number, "whistle not started yet"

    await eventually(started, seconds=15)


async def wait_for_emergency(client: LinkageClient, iid: str) -> None:
    async def started() -> None:
        assert (await client.status(iid)).emergencies, "emergency linkage not started yet"

    await eventually(started, seconds=15)
