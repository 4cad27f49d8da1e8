"""What every command of the CLI shares: JSON in and out, the --as party, the principal the
command runs as, and the connection to Temporal. Heavy imports wait for the command that
needs them, so that `linkage --help` loads none of them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from linkage.client.errors import LinkageError
from linkage.domain.timefmt import jsonable
from linkage.settings.config import Settings


def print_json(value: Any) -> None:
    """Times as ISO 8601 with the district's offset, like every --json output."""
    data = value.model_dump() if hasattr(value, "model_dump") else value
    print(json.dumps(jsonable(data), ensure_ascii=False, indent=2))


def read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise LinkageError(f"cannot read {source}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise LinkageError(f"{source}: not UTF-8 text; save the report as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise LinkageError(f"{source}: not valid JSON: {err}") from None


def positive_int(value: str) -> int:
    """A count of rows: 1 or more (0 would only ever answer \"nothing matches\")."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value!r})") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {number})")
    return number


def parse_actor(value: str) -> dict:
    """ROLE:UNIT[/PERSON], e.g. command_center:区集成指挥中心/张坐席."""
    from linkage.domain.models import Role

    role, sep, rest = value.partition(":")
    if not sep or not rest:
        raise argparse.ArgumentTypeError(
            f"--as must be ROLE:UNIT[/PERSON], e.g. member_unit:区城管局/钱科长 (got {value!r})"
        )
    if role not in Role.__members__:
        raise argparse.ArgumentTypeError(
            f"--as: unknown role {role!r}; one of {', '.join(Role.__members__)}"
        )
    unit, _, person = rest.partition("/")
    return {"role": role, "unit": unit, "person": person}


def unreachable() -> str:
    from linkage.trust.temporal import address

    return f"cannot reach Temporal at {address()}: is the system running?"


def rpc_failure(err) -> str:
    from temporalio.service import RPCStatusCode

    if err.status is RPCStatusCode.UNAVAILABLE:
        return unreachable()
    return f"Temporal refused the request: {err}"


def authorized(args, linkage, store):
    """The client as this run's principal (token_cli.current_principal), playing the --as
    party if it is the host's operator."""
    from linkage.client.authorized import AuthorizedClient
    from linkage.interfaces.cli import tokens as token_cli
    from linkage.records.audit import AuditLog

    principal = token_cli.current_principal(store, args.profile)
    played = token_cli.played_party(principal, getattr(args, "actor", None))
    return AuthorizedClient(linkage, principal, AuditLog(store.engine), via="cli", played=played)


async def with_client(handler: Callable[..., Awaitable[int]], args) -> int:
    """Connect with a runtime that keeps the SDK core's own log lines (its retries against a
    server that is down) off the terminal: the person reads one line of ours instead. The
    principal is known before Temporal is reached."""
    from linkage.client import LinkageClient
    from linkage.records.store import Store
    from linkage.trust.temporal import connect, quiet_runtime

    settings = Settings()
    store = Store(settings.database_url)
    party = authorized(args, LinkageClient(None, store=store), store)  # type: ignore[arg-type]
    try:
        client = await connect(settings, runtime=quiet_runtime())
    except RuntimeError:
        raise LinkageError(unreachable()) from None
    party.client = LinkageClient(client, settings.task_queue, store=store)
    return await handler(args, party)
