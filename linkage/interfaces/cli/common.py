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


# What one input may be: a list of reports is well under a megabyte per thousand; a report is
# three levels deep, a list of them four. Past these it is a mistake or an attack, and refused.
MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32


def read_input(source: str) -> bytes:
    """A file's bytes, or stdin's for `-`, read with a bound (never all of /dev/zero)."""
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = (
                stream.read(MAX_INPUT_BYTES + 1) if stream else sys.stdin.read(MAX_INPUT_BYTES + 1)
            )
            data = data.encode("utf-8") if isinstance(data, str) else data
        else:
            with Path(source).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as err:
        raise LinkageError(f"cannot read {source}: {err.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise LinkageError(
            f"{name}: larger than {MAX_INPUT_BYTES} bytes ({MAX_INPUT_BYTES // 2**20} MiB), the "
            f"most one input may be; split it"
        )
    return data


def load_json(text: str, source: str) -> Any:
    """JSON text as data; refused, naming `source`, when it is no JSON or nests deeper than
    MAX_DEPTH (the parser and everything after it would run out of stack)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise LinkageError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # JSONDecodeError, and a number of thousands of digits
        raise LinkageError(f"{source}: not valid JSON: {err}") from None
    if depth(data) > MAX_DEPTH:
        raise LinkageError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels")
    return data


def depth(data: Any) -> int:
    """How deep lists and objects nest (a scalar is 0), counted without recursion and no
    further than one level past MAX_DEPTH."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend(
            (child, level + 1) for child in (item.values() if isinstance(item, dict) else item)
        )
    return deepest


def read_json(source: str) -> Any:
    """A JSON file, or stdin's for `-`: bounded in size and depth, each refusal naming it."""
    name = "standard input" if source == "-" else source
    try:
        text = read_input(source).decode("utf-8")
    except UnicodeDecodeError:
        raise LinkageError(f"{name}: not UTF-8 text; save the report as UTF-8") from None
    return load_json(text, name)


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
