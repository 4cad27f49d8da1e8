"""`linkage`: the command line for the platforms, the parties and the supervisors.

Every command takes --json for machine-readable output. Errors go to stderr with what was wrong;
the exit code is 1 for a refused or failed command and 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from linkage.client import ACTIONS, DivertResult, LinkageClient, LinkageError, parse_report
from linkage.client.authorized import AuthorizedClient
from linkage.client.listing import parse_when
from linkage.domain.models import STAGE_LABELS, IncidentReport, Owner, Role, Stage
from linkage.domain.timefmt import district_zone, jsonable
from linkage.interfaces.cli import tokens as token_cli
from linkage.interfaces.cli.act_options import (
    ACTOR_HELP,
    OPTIONS,
    WHISTLE_HELP,
    action_help,
    add_options,
    check_payload,
    comma_list,
    help_requested,
)
from linkage.interfaces.cli.display import (
    render_action_done,
    render_listing,
    render_outbox,
    render_status,
)
from linkage.records.audit import AuditLog
from linkage.settings.config import ConfigError, Settings
from linkage.trust.temporal import connect, quiet_runtime
from linkage.trust.tokens import Forbidden, Unauthenticated


def _print_json(value: Any) -> None:
    """Times as ISO 8601 with the district's offset, like every --json output."""
    data = value.model_dump() if isinstance(value, BaseModel) else value
    print(json.dumps(jsonable(data), ensure_ascii=False, indent=2))


def _read_json(source: str) -> Any:
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


# --- commands -----------------------------------------------------------------------------------


def _reports(count: int) -> str:
    return f"{count} report" if count == 1 else f"{count} reports"


def _divert_note(result: DivertResult) -> str:
    if result.closed:
        ended = f"{STAGE_LABELS[result.stage]} {result.stage.value}" if result.stage else "ended"
        return f"  (already diverted, and its incident has ended: {ended}; nothing started)"
    if result.queued:
        return (
            "  (queued: no worker answered in time; the report is kept and its incident opens "
            "as soon as a worker runs)"
        )
    if result.resent:
        return f"  (the same push again: counted once; {_reports(result.reports)})"
    if not result.new:
        how = {
            "reference": "the same push again",
            "caller": "the same caller",
            "place": "the same place and category",
        }.get(result.matched_by, "a match")
        return f"  (joined the open incident: {how}; {_reports(result.reports)} now)"
    return ""


def _print_diverted(result: DivertResult, where: str = "") -> None:
    print(f"{where}{result.incident_id}{_divert_note(result)}")
    if result.harassment_case:
        print(
            f"{where}{result.harassment_case}  (恶意骚扰: this caller's reports passed the "
            f"harassment rule; a case was opened for police)"
        )


def check_reports(reports: list[Any]) -> tuple[list[IncidentReport], list[tuple[int, str]]]:
    """Validate every report of a list: the good ones, and (its number from 1, `field: problem`)
    for each problem of the bad ones."""
    good: list[IncidentReport] = []
    bad: list[tuple[int, str]] = []
    for number, data in enumerate(reports, start=1):
        try:
            good.append(parse_report(data))
        except LinkageError as err:
            for line in str(err).splitlines():
                bad.append((number, line.removeprefix("report: ")))
    return good, bad


async def cmd_divert(args, client: AuthorizedClient) -> int:
    """One report, or a list of them. A list is checked whole first: if any report is bad,
    every problem is printed and none is diverted. Then each is diverted and each one's
    outcome printed (its incident ID, or why it failed)."""
    data = _read_json(args.file)
    if args.now:
        _stamp_now(data)
    if not isinstance(data, list):
        result = await client.divert(parse_report(data))
        if args.json:
            _print_json(result)
        else:
            _print_diverted(result)
        return 0
    if not data:
        raise LinkageError(f"{args.file}: an empty list holds no report")
    reports, bad = check_reports(data)
    if bad:
        for number, line in bad:
            print(f"linkage: report {number}: {line}", file=sys.stderr)
        print(
            f"linkage: {len({n for n, _ in bad})} of {len(data)} reports are bad; "
            f"none was diverted",
            file=sys.stderr,
        )
        if args.json:
            errors: dict[int, list[str]] = {}
            for number, line in bad:
                errors.setdefault(number, []).append(line)
            _print_json([{"index": n, "error": "\n".join(e)} for n, e in errors.items()])
        return 1
    outcomes: list[dict[str, Any]] = []
    for number, report in enumerate(reports, start=1):
        try:
            result = await client.divert(report)
        except Exception as err:  # each report's outcome is printed, whatever befell the last
            message = _divert_failure(err)
            outcomes.append({"index": number, "error": message})
            if not args.json:
                print(f"linkage: report {number}: {message}", file=sys.stderr)
            continue
        outcomes.append({"index": number, **result.model_dump()})
        if not args.json:
            _print_diverted(result, f"report {number}: ")
    if args.json:
        _print_json(outcomes)
    return 1 if any("error" in o for o in outcomes) else 0


def _stamp_now(data: Any) -> None:
    """--now: each report's received_at becomes the present moment (to try the examples)."""
    now = datetime.now(district_zone()).isoformat(timespec="seconds")
    for report in data if isinstance(data, list) else [data]:
        if isinstance(report, dict):
            report["received_at"] = now


def _divert_failure(err: Exception) -> str:
    if isinstance(err, LinkageError):
        return str(err)
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return "no answer from the intake in time: is a worker running?"
    if isinstance(err, RPCError):
        return _rpc_failure(err)
    return f"{type(err).__name__}: {err}"


def _unreachable() -> str:
    return f"cannot reach Temporal at {Settings().temporal_address}: is the system running?"


def _rpc_failure(err: RPCError) -> str:
    if err.status is RPCStatusCode.UNAVAILABLE:
        return _unreachable()
    return f"Temporal refused the request: {err}"


async def cmd_status(args, client: AuthorizedClient) -> int:
    status = await client.status(args.id)
    if args.json:
        _print_json(status)
    else:
        print(render_status(status))
    return 0


async def cmd_act(args, client: AuthorizedClient) -> int:
    payload: dict[str, Any] = {}
    for option in OPTIONS:
        value = getattr(args, option)
        if value is not None:
            payload[option] = value
    spec = ACTIONS[args.action]
    unknown = set(payload) - set(spec.model.model_fields) - {"actor"}
    if unknown:
        options = ", ".join("--" + u.replace("_", "-") for u in sorted(unknown))
        raise LinkageError(f"{args.action} does not take {options}")
    try:
        check_payload(args.action, spec, {**payload, "actor": _actor_of(client)})
    except ValueError as err:
        raise LinkageError(str(err)) from None
    state = await client.act(args.id, args.action, payload, whistle=args.whistle)
    if args.json:
        _print_json(state)
    else:
        print(render_action_done(args.id, args.action, state))
    return 0


def _actor_of(client: AuthorizedClient) -> dict:
    """The actor the principal acts as: an operator names the party it plays with --as."""
    if client.party.workflow_role is None:
        raise LinkageError(
            f"a {client.party.role.value} takes no action on an incident itself; on the worker "
            "host the operator names the party it plays: --as ROLE:UNIT[/PERSON]"
        )
    return client.party.actor().model_dump()


async def cmd_whistle(args, client: AuthorizedClient) -> int:
    units = comma_list(args.units)
    call = {
        "reason": args.reason,
        "units": units,
        "deadline_hours": args.deadline,
    }
    state = await client.whistle(args.id, call)
    whistle = state.whistles[-1] if state.whistles else None
    if args.json:
        _print_json(
            {
                "incident_id": args.id,
                "whistle": whistle.number if whistle else None,
                "units": units,
                "state": state.model_dump(mode="json"),
            }
        )
    else:
        number = f" #{whistle.number}" if whistle else ""
        print(
            f"{args.id}: whistle{number} blown; summoned {'、'.join(units)} to report in "
            f"(linkage act {args.id} report-in --as member_unit:UNIT)"
        )
    return 0


async def cmd_list(args, client: AuthorizedClient) -> int:
    zone = district_zone()
    try:
        since = parse_when(args.since, zone, "--since") if args.since else None
        until = parse_when(args.until, zone, "--until") if args.until else None
    except ValueError as err:
        raise LinkageError(str(err)) from None
    if until is not None and args.until and len(args.until.strip()) == 10:
        until += timedelta(days=1)  # --until 2026-12-01 takes in the whole day
    rows = await client.list(
        stage=args.stage,
        owner=args.owner,
        township=args.township,
        overdue=args.overdue,
        whistled=args.whistled,
        running_only=args.running,
        limit=args.limit,
        unit=args.unit,
        category=args.category,
        safety=True if args.safety else None,
        since=since,
        until=until,
    )
    if args.json:
        _print_json([jsonable(r.model_dump()) for r in rows])
    else:
        print(render_listing(rows))
    return 0


def cmd_keys(args) -> int:
    """The payload codec's keyring: list the key IDs, or rotate (a new key encrypts from now
    on; the old ones stay, so every history stays readable)."""
    from linkage.trust.codec import load_keyring, rotate_keys

    if args.keys_command == "rotate":
        print(
            f"new codec key {rotate_keys()} encrypts from now on; restart the worker, the API "
            f"and the codec server to use it"
        )
        return 0
    keyring = load_keyring()
    for key_id in keyring.keys:
        print(f"{key_id}{'  (encrypts)' if key_id == keyring.current else ''}")
    return 0


def cmd_triage(args) -> int:
    from linkage.domain.triage_result import TriageRequest
    from linkage.interfaces.cli.display import render_triage
    from linkage.triage.triager import load_triager, output_line, triage_json_line

    triager = load_triager()
    if args.text == "learn":
        return cmd_triage_learn(args, triager)
    if args.text != "-":
        try:
            request = TriageRequest(text=args.text, township=args.township or "")
        except ValueError as err:
            raise LinkageError(f"text: {err}") from None
        result = triager.triage(request)
        if args.json:
            _print_json(output_line(result))
        else:
            print(render_triage(result))
        return 0
    failed = 0
    for number, raw in enumerate(sys.stdin, start=1):
        if not raw.strip():
            continue
        line = triage_json_line(triager, raw, number)
        failed += "error" in line
        print(json.dumps(line, ensure_ascii=False), flush=False)
    return 1 if failed else 0


def cmd_triage_learn(args, triager) -> int:
    """Retrain the model from the training sets and the desk's decisions in the records."""
    from linkage.records.store import Store
    from linkage.settings.paths import config_dir
    from linkage.triage.learn import FOLDS, desk_rows, learn

    store = Store(Settings().database_url)
    desk = desk_rows(store, triager.catalogue)
    out = None if args.dry_run else config_dir() / triager.catalogue.model.file
    learned = learn(triager, desk, out, k=args.folds or FOLDS)
    if args.json:
        _print_json(
            {
                "version": learned.version,
                "written": learned.written,
                "why": learned.why,
                "rows": learned.rows,
                "desk_decisions": learned.desk,
                "current": learned.current.summary() if learned.current else None,
                "candidate": learned.candidate.summary(),
            }
        )
    else:
        current = triager.model.version if triager.model else "none (rules alone)"
        print(f"training rows 训练样本: {learned.rows} (desk decisions 专席研判 {learned.desk})")
        if learned.current is not None:
            print(f"current model 当前模型 {current}, cross-validated: {learned.current.line()}")
        print(f"new model 新模型 {learned.version}, cross-validated: {learned.candidate.line()}")
        print(learned.why)
    return 0 if learned.written or args.dry_run else 1


def cmd_outbox(args) -> int:
    from linkage.records.store import Store

    store = Store(Settings().database_url)
    # the outbox is the records' alone: no Temporal connection is needed
    client = _authorized(args, LinkageClient(None, store=store), store)  # type: ignore[arg-type]
    if args.ack:
        client.acknowledge(args.ack)
        if args.json:
            _print_json({"key": args.ack, "status": "delivered"})
        else:
            print(f"{args.ack}: delivered")
        return 0
    rows = client.outbox(target=args.target, status=args.status, limit=args.limit)
    if args.json:
        _print_json([r.model_dump() for r in rows])
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


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkage",
        description="12345 热线 与 110 平台 对接联动: divert incidents and see each one through.",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="act with this profile's token (profiles.toml); default: LINKAGE_TOKEN, else the "
        "host's operator",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("up", help="run the system: Temporal dev server, Web UI and a worker")
    p.add_argument("--port", type=int, default=7233, help="Temporal frontend port")
    p.add_argument("--ui-port", type=int, default=8233, help="Web UI port")
    p.add_argument("--api-port", type=int, default=8380, help="HTTP API port")
    p.add_argument("--codec-port", type=int, default=8381, help="the Web UI's codec server")
    p.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="start no worker: run `linkage worker` beside it (restart that alone at will)",
    )

    sub.add_parser(
        "worker",
        help="run a worker against a running Temporal server (linkage up's, by default)",
    )

    p = sub.add_parser("serve", help="the HTTP API for the platforms and the desks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8380)
    p.add_argument("--write-openapi", metavar="FILE", help="write the OpenAPI schema and exit")

    p = sub.add_parser("codec-server", help="decode payloads for the Web UI (supervisors)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8381)
    p.add_argument(
        "--local-supervisor",
        action="store_true",
        help="a request without a token is this host's supervisor (linkage up, one machine)",
    )
    p.add_argument(
        "--ui-origin",
        action="append",
        default=[],
        metavar="URL",
        help="a Web UI origin to answer beside auth.toml's ui.origins",
    )

    p = sub.add_parser("divert", parents=[json_flag], help="push an incident (分流推送)")
    p.add_argument(
        "file",
        help="a JSON report, or a list of them (checked whole first: one bad report and none is "
        "diverted); - reads stdin",
    )
    p.add_argument(
        "--now",
        action="store_true",
        help="set each report's received_at to now (to try the examples, whose time is fixed)",
    )

    p = sub.add_parser("status", parents=[json_flag], help="stage, loops, deadlines, timeline")
    p.add_argument("id", help="incident ID, e.g. police-JJ20261129001")

    actions_help = "\n".join(f"  {name:<18} {spec.help}" for name, spec in ACTIONS.items())
    p = sub.add_parser(
        "act",
        parents=[json_flag],
        help="take a party's action on an incident",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"actions:\n{actions_help}\n\n`linkage act ACTION --help` shows an action's "
        f"flags and who may take it.\nroles: {', '.join(Role.__members__)}",
    )
    p.add_argument("id", help="incident ID")
    p.add_argument("action", choices=list(ACTIONS), metavar="ACTION", help="see below")
    p.add_argument(
        "--as", dest="actor", type=parse_actor, metavar="ROLE:UNIT[/PERSON]", help=ACTOR_HELP
    )
    add_options(p, list(OPTIONS), help=argparse.SUPPRESS)  # each action's help shows its own
    p.add_argument("--whistle", type=int, metavar="N", help=WHISTLE_HELP)

    p = sub.add_parser(
        "whistle",
        parents=[json_flag],
        help="blow the whistle (吹哨): summon units to report in and handle jointly",
    )
    p.add_argument("id", help="incident ID")
    p.add_argument(
        "--as",
        dest="actor",
        type=parse_actor,
        metavar="ROLE:UNIT[/PERSON]",
        help="the duty officer an operator plays (default: your token's principal)",
    )
    p.add_argument("--reason", required=True, help="why (重大风险隐患、可能影响社会稳定 …)")
    p.add_argument("--units", required=True, help="the units summoned, comma-separated")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="HOURS",
        help="hours to report in (default: the time-limit table's)",
    )

    p = sub.add_parser("keys", help="the payload codec's keys: list or rotate")
    p.add_argument("keys_command", choices=["list", "rotate"], nargs="?", default="list")

    p = sub.add_parser("list", parents=[json_flag], help="search incidents (Temporal visibility)")
    p.add_argument("--stage", choices=[s.value for s in Stage])
    p.add_argument("--owner", choices=[o.value for o in Owner])
    p.add_argument("--township", help="镇（街道）or zone, e.g. 黄埭镇")
    p.add_argument("--overdue", action="store_true", help="only incidents with a missed deadline")
    p.add_argument("--whistled", action="store_true", help="only incidents with a whistle blown")
    p.add_argument("--running", action="store_true", help="only incidents still open")
    p.add_argument(
        "--unit",
        help="what waits on this unit now (its queue 待办), by code, name or alias, e.g. 区城管局",
    )
    p.add_argument("--category", help="catalogue code or name, e.g. H02, H02.07 or 市容管理")
    p.add_argument("--safety", action="store_true", help="only incidents triage found a danger in")
    p.add_argument("--since", help="started on or after: a date (2026-12-01) or a time")
    p.add_argument("--until", help="started before the end of: a date, or before a time")
    p.add_argument("--limit", type=positive_int, default=100)

    p = sub.add_parser(
        "triage",
        parents=[json_flag],
        help="classify a description: police or 12345, catalogue item, unit (非警务甄别)",
        description="TEXT is one description; - reads JSON Lines "
        '({"id": ..., "text": ..., "township": ...}) from stdin and writes one JSON line each. '
        "`linkage triage learn` retrains the model from the labelled training sets and the "
        "linkage desk's recorded decisions, and writes it only when its cross-validated safety "
        "floor is no worse than the current model's (exit 1 when refused).",
    )
    p.add_argument(
        "text", help="the caller's description, - for JSON Lines on stdin, or learn (重新训练)"
    )
    p.add_argument("--township", help="镇（街道）or zone, for the route")
    p.add_argument("--dry-run", action="store_true", help="learn: report, write nothing")
    p.add_argument("--folds", type=int, help="learn: cross-validation folds (default 5)")

    p = sub.add_parser(
        "outbox", parents=[json_flag], help="messages to the platforms and the SMS gateway (双推送)"
    )
    p.add_argument("--target", choices=["police", "hotline", "sms", "emergency"])
    p.add_argument("--status", choices=["pending", "delivered", "failed"])
    p.add_argument("--ack", metavar="KEY", help="mark a message as taken by its platform")
    p.add_argument("--limit", type=positive_int, default=100)

    p = sub.add_parser(
        "demo", parents=[json_flag], help="feed realistic incidents and play every party"
    )
    p.add_argument("--pace", type=float, default=2.0, help="seconds between a party's actions")

    from linkage.interfaces.cli import (
        reports as report_cli,  # 月研判 / 季会商 / 年总结 and the evidence
    )

    report_cli.add_parser(sub, json_flag)
    token_cli.add_parsers(sub, json_flag)
    return parser


def _authorized(args, linkage: LinkageClient, store) -> AuthorizedClient:
    """The client as this run's principal (token_cli.current_principal), playing the --as
    party if it is the host's operator."""
    principal = token_cli.current_principal(store, args.profile)
    played = token_cli.played_party(principal, getattr(args, "actor", None))
    return AuthorizedClient(linkage, principal, AuditLog(store.engine), via="cli", played=played)


async def _with_client(handler: Callable[..., Awaitable[int]], args) -> int:
    """Connect with a runtime that keeps the SDK core's own log lines (its retries against a
    server that is down) off the terminal: the person reads one line of ours instead. The
    principal is known before Temporal is reached."""
    from linkage.records.store import Store

    settings = Settings()
    store = Store(settings.database_url)
    authorized = _authorized(args, LinkageClient(None, store=store), store)  # type: ignore[arg-type]
    try:
        client = await connect(settings, runtime=quiet_runtime())
    except RuntimeError:
        raise LinkageError(_unreachable()) from None
    authorized.client = LinkageClient(client, settings.task_queue, store=store)
    return await handler(args, authorized)


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if (action := help_requested(argv)) is not None:
        print(action_help(action, parse_actor), end="")
        return 0
    args = build_parser().parse_args(argv)
    try:
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

            return asyncio.run(run_demo(pace=args.pace, as_json=args.json))
        if args.command == "outbox":
            return cmd_outbox(args)
        if args.command == "report":
            from linkage.interfaces.cli import reports as report_cli

            return report_cli.run(args)
        if args.command == "triage":
            return cmd_triage(args)
        if args.command == "keys":
            return cmd_keys(args)
        if args.command in ("token", "audit"):
            return token_cli.run(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "codec-server":
            from linkage.interfaces.codec_server import serve_codec

            local = None
            if args.local_supervisor and args.host not in ("127.0.0.1", "localhost", "::1"):
                raise LinkageError("--local-supervisor serves this machine alone: --host 127.0.0.1")
            if args.local_supervisor:
                from linkage.trust.tokens import host_supervisor

                local = host_supervisor()
            return serve_codec(
                host=args.host, port=args.port, anonymous=local, origins=args.ui_origin
            )
        handler = {
            "divert": cmd_divert,
            "status": cmd_status,
            "act": cmd_act,
            "list": cmd_list,
            "whistle": cmd_whistle,
        }[args.command]
        return asyncio.run(_with_client(handler, args))
    except (LinkageError, ConfigError) as err:
        print(f"linkage: {err}", file=sys.stderr)
        return 1
    except Unauthenticated as err:
        print(f"linkage: not signed in: {err}", file=sys.stderr)
        return 1
    except Forbidden as err:
        print(f"linkage: refused: {err}", file=sys.stderr)
        return 1
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        print(
            "linkage: no answer from the incident in time: is a worker running "
            "(linkage up, or linkage worker)?",
            file=sys.stderr,
        )
        return 1
    except RPCError as err:
        print(f"linkage: {_rpc_failure(err)}", file=sys.stderr)
        return 1
    except SQLAlchemyError as err:
        print(
            f"linkage: the records database is not available: {type(err).__name__}: "
            f"{str(err).splitlines()[0]}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


def main() -> None:
    """The `linkage` entry point.

    It leaves with os._exit once output is flushed: the Temporal client's native threads can
    abort CPython's interpreter teardown in a short-lived process (temporalio/sdk-python#300).
    A reader that stops early (`linkage status ID | head`) ends the command quietly, with the
    code a Unix tool killed by SIGPIPE has.
    """
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
        code = 128 + signal.SIGPIPE
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
