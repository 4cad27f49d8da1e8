"""`linkage up | worker | serve | codec-server | setup | keys | outbox | demo`: running the system
on one machine, its parts one by one, making a cluster ready, the codec's keys, the outbox, and
the demonstration."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from linkage.client.errors import LinkageError
from linkage.interfaces.cli.common import authorized, positive_int, print_json
from linkage.settings.config import Settings


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "up":
        p.add_argument("--port", type=int, default=7233, help="Temporal frontend port")
        p.add_argument(
            "--ui-port",
            type=int,
            default=8233,
            help="the Web UI's port: its sign-in gate (the UI server listens behind it)",
        )
        p.add_argument("--api-port", type=int, default=8380, help="HTTP API port")
        p.add_argument("--codec-port", type=int, default=8381, help="the Web UI's codec server")
        p.add_argument(
            "--no-worker",
            dest="worker",
            action="store_false",
            help="start no worker: run `linkage worker` beside it (restart that alone at will)",
        )
    elif name == "serve":
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8380)
        p.add_argument("--write-openapi", metavar="FILE", help="write the OpenAPI schema and exit")
    elif name == "codec-server":
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8381)
        p.add_argument(
            "--ui-origin",
            action="append",
            default=[],
            metavar="URL",
            help="a Web UI origin to answer beside auth.toml's ui.origins",
        )
    elif name == "ui-gate":
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8382)
        p.add_argument("--ui", required=True, metavar="URL", help="the Temporal UI server")
        p.add_argument("--codec", required=True, metavar="URL", help="the codec server")
        p.add_argument(
            "--reader-token-file",
            required=True,
            metavar="FILE",
            help="the Temporal credential that may read the namespace (never sent to a browser)",
        )
        p.add_argument("--secure-cookie", action="store_true", help="behind HTTPS: Secure cookie")
    elif name == "keys":
        p.add_argument("keys_command", choices=["list", "rotate"], nargs="?", default="list")
    elif name == "outbox":
        p.add_argument("--target", choices=["police", "hotline", "sms", "emergency"])
        p.add_argument("--status", choices=["pending", "delivered", "failed"])
        p.add_argument("--ack", metavar="KEY", help="mark a message as taken by its platform")
        p.add_argument("--limit", type=positive_int, default=100)
    elif name == "setup":
        p.add_argument(
            "--check",
            action="store_true",
            help="report what differs and change nothing (exit code 1 when something differs)",
        )
        p.add_argument(
            "--retention-days",
            type=retention_days,
            default=90,
            metavar="N",
            help="how long Temporal keeps a closed incident's history (default 90)",
        )
    elif name == "demo":
        p.add_argument("--pace", type=float, default=2.0, help="seconds between a party's actions")


def run(args) -> int:
    if args.command == "up":
        from linkage.ops.devserver import run_system

        return run_system(
            port=args.port,
            ui_port=args.ui_port,
            api_port=args.api_port,
            codec_port=args.codec_port,
            worker=args.worker,
        )
    if args.command == "worker":
        from workers.main import main as worker_main

        worker_main()
        return 0
    if args.command == "demo":
        from linkage.interfaces.demo import run_demo

        done = guarded(args, "demo")  # it issues every party a token: the operator's
        done(detail={"pace": args.pace})
        return asyncio.run(run_demo(pace=args.pace, as_json=args.json))
    if args.command == "codec-server":
        from linkage.interfaces.codec_server import serve_codec

        # every request names its principal by a token: there is no "no token means someone"
        return serve_codec(host=args.host, port=args.port, origins=args.ui_origin)
    if args.command == "setup":
        return asyncio.run(cmd_setup(args))
    if args.command == "ui-gate":
        from linkage.interfaces.ui_gate import serve_gate

        return serve_gate(args)
    return {"keys": cmd_keys, "outbox": cmd_outbox, "serve": cmd_serve}[args.command](args)


def retention_days(value: str) -> int:
    """--retention-days: whole days, refused by argparse before anything runs."""
    from linkage.ops.setup_plan import MAX_RETENTION_DAYS

    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of days (got {value!r})"
        ) from None
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_RETENTION_DAYS} days (got {days})")
    return days


async def cmd_setup(args) -> int:
    """Authorised and audited like every command; the records database is read, not migrated,
    until the principal may change it (migrating is one of the things setup does)."""
    from linkage.interfaces.cli import tokens as token_cli
    from linkage.ops import setup, setup_plan
    from linkage.ops.setup import RecordsDatabase
    from linkage.records.audit import AuditLog
    from linkage.trust.policy import authorize
    from linkage.trust.temporal import connect, quiet_runtime, secured_connection

    settings = Settings()
    records = RecordsDatabase(settings.database_url)
    # a database without the tokens table has revoked none
    unrevoked = None if records.has_table("issuedtoken") else (lambda _jti: None)
    principal = token_cli.current_principal(records, args.profile, revoked=unrevoked)
    action = "setup.check" if args.check else "setup"

    def audit(failed: bool = False, **entry) -> None:
        """A failure's own message stays the one line a person reads."""
        if records.has_table("auditentry"):
            AuditLog(records.engine).record(principal, action, via="cli", **entry)
        elif not failed:
            print(f"linkage: {action} not in the audit log: {records.shown} has no audit "
                  "table yet (run linkage setup)", file=sys.stderr)  # fmt: skip

    try:
        authorize(principal, action)
    except Exception as err:
        audit(allowed=False, reason=str(err))
        raise
    address = secured_connection().get("target_host", settings.temporal_address)
    try:
        client = await connect(settings, runtime=quiet_runtime())
    except Exception as err:  # the bridge's RuntimeError, or the server's answer (a bad key)
        why = setup.connect_failure(err)
        audit(failed=True, reason=f"Temporal at {address}: {why}")
        raise LinkageError(
            f"cannot reach Temporal at {address} ({why}): is it running, and are "
            "TEMPORAL_ADDRESS (or LINKAGE_TEMPORAL_ADDRESS), its TLS settings and "
            "TEMPORAL_API_KEY right?"
        ) from None
    detail = {"namespace": client.namespace, "address": address}
    try:
        lines = await setup.make_ready(
            client,
            settings.task_queue,
            records,
            retention_days=args.retention_days,
            check=args.check,
        )
    except Exception as err:
        audit(failed=True, reason=f"failed: {str(err)[:900]}", detail=detail)
        raise
    changed = [f"{line.item}: {line.change}" for line in lines if line.differs]
    audit(detail={**detail, ("differs" if args.check else "changed"): changed})
    if args.json:
        print_json(setup_plan.as_dict(lines, client.namespace, args.check))
    else:
        print(setup_plan.render(lines, args.check))
    return 1 if args.check and changed else 0


def guarded(args, action: str, **scope):
    """The run's principal authorised for `action` against the records (a refusal audited);
    the `done` that audits it (linkage.interfaces.cli.guard)."""
    from linkage.interfaces.cli.guard import authorize_command
    from linkage.records.store import Store

    return authorize_command(args, Store(Settings().database_url), action, **scope)


def cmd_keys(args) -> int:
    """The payload codec's keyring: list the key IDs (an operator or a supervisor), or rotate
    (the operator: a new key encrypts from now on; the old ones stay, so every history stays
    readable). Authorised and audited, a refusal with its reason, before the keyring is read."""
    from linkage.trust.codec import load_keyring, rotate_keys

    rotate = args.keys_command == "rotate"
    done = guarded(args, "keys.rotate" if rotate else "keys")
    if rotate:
        try:
            key_id = rotate_keys()
        except Exception as err:
            done(reason=f"failed: {str(err)[:900]}")
            raise
        done(detail={"key": key_id})
        print(
            f"new codec key {key_id} encrypts from now on; restart the worker, the API "
            f"and the codec server to use it"
        )
        return 0
    keyring = load_keyring()
    done(detail={"keys": list(keyring.keys)})
    for key_id in keyring.keys:
        print(f"{key_id}{'  (encrypts)' if key_id == keyring.current else ''}")
    return 0


def cmd_outbox(args) -> int:
    from linkage.client import LinkageClient
    from linkage.interfaces.cli.display import render_outbox
    from linkage.records.store import Store

    store = Store(Settings().database_url)
    # the outbox is the records' alone: no Temporal connection is needed
    client = authorized(args, LinkageClient(None, store=store), store)  # type: ignore[arg-type]
    if args.ack:
        client.acknowledge(args.ack)
        if args.json:
            print_json({"key": args.ack, "status": "delivered"})
        else:
            print(f"{args.ack}: delivered")
        return 0
    rows = client.outbox(target=args.target, status=args.status, limit=args.limit)
    if args.json:
        print_json([r.model_dump() for r in rows])
    else:
        print(render_outbox(rows))
    return 0


def cmd_serve(args) -> int:
    from linkage.interfaces.api.app import make_app, serve

    if args.write_openapi:
        schema = json.dumps(make_app().openapi(), ensure_ascii=False, indent=2)
        Path(args.write_openapi).write_text(schema + "\n", encoding="utf-8")
        print(args.write_openapi)
        return 0
    return serve(host=args.host, port=args.port)
