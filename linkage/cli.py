"""`linkage`: the command line for the platforms, the parties and the supervisors.

Every command takes --json for machine-readable output. Errors go to stderr with what was wrong;
the exit code is 1 for a refused or failed command and 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from linkage.catalogue import Direction
from linkage.client import ACTIONS, DivertResult, LinkageClient, LinkageError, parse_report
from linkage.config import ConfigError, Settings
from linkage.display import render_listing, render_outbox, render_status
from linkage.models import STAGE_LABELS, IncidentReport, Owner, RevisitOutcome, Role, Stage


def _print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        print(value.model_dump_json(indent=2))
    else:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


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


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]


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
        return "  (already diverted and closed; nothing started)"
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


async def cmd_divert(args, client: LinkageClient) -> int:
    """One report, or a list of them. A list is checked whole first: if any report is bad,
    every problem is printed and none is diverted. Then each is diverted and each one's
    outcome printed (its incident ID, or why it failed)."""
    data = _read_json(args.file)
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


def _divert_failure(err: Exception) -> str:
    if isinstance(err, LinkageError):
        return str(err)
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return "no answer from the intake in time: is a worker running?"
    if isinstance(err, RPCError):
        return f"Temporal refused the request: {err}"
    return f"{type(err).__name__}: {err}"


async def cmd_status(args, client: LinkageClient) -> int:
    status = await client.status(args.id)
    if args.json:
        _print_json(status)
    else:
        print(render_status(status))
    return 0


async def cmd_act(args, client: LinkageClient) -> int:
    payload: dict[str, Any] = {"actor": args.actor}
    for option in (
        "unit",
        "reason",
        "note",
        "hours",
        "result",
        "message",
        "outcome",
        "owner",
        "divert_reason",
        "units",
        "direction",
        "subcategory",
    ):
        value = getattr(args, option)
        if value is not None:
            payload[option] = value
    spec = ACTIONS[args.action]
    unknown = set(payload) - set(spec.model.model_fields) - {"actor"}
    if unknown:
        options = ", ".join("--" + u.replace("_", "-") for u in sorted(unknown))
        raise LinkageError(f"{args.action} does not take {options}")
    state = await client.act(args.id, args.action, payload, whistle=args.whistle)
    if args.json:
        _print_json(state)
    else:
        where = getattr(state, "step", None) or getattr(state, "stage", None)
        if where is None and hasattr(state, "number"):  # a whistle
            where = f"whistle #{state.number}, reported {len(state.reported)}/{len(state.units)}"
        then = getattr(state, "incident_stage", None)
        incident = f"; incident {STAGE_LABELS[then]} {then.value}" if then else ""
        print(f"{args.id}: {args.action} done; now at {getattr(where, 'value', where)}{incident}")
    return 0


async def cmd_whistle(args, client: LinkageClient) -> int:
    units = [u.strip() for u in args.units.replace("，", ",").split(",") if u.strip()]
    call = {
        "actor": args.actor,
        "reason": args.reason,
        "units": units,
        "deadline_hours": args.deadline,
    }
    await client.whistle(args.id, call)
    if args.json:
        _print_json({"incident_id": args.id, "whistle": "blown", "units": units})
    else:
        print(
            f"{args.id}: whistle blown; summoned {'、'.join(units)} to report in "
            f"(linkage act {args.id} report-in --as member_unit:UNIT)"
        )
    return 0


async def cmd_list(args, client: LinkageClient) -> int:
    rows = await client.list(
        stage=args.stage,
        owner=args.owner,
        township=args.township,
        overdue=args.overdue,
        whistled=args.whistled,
        running_only=args.running,
        limit=args.limit,
    )
    if args.json:
        _print_json([r.model_dump() for r in rows])
    else:
        print(render_listing(rows))
    return 0


def cmd_triage(args) -> int:
    from linkage.display import render_triage
    from linkage.triage import TriageRequest, load_triager, output_line, triage_json_line

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
    from linkage.config import config_dir
    from linkage.store import Store
    from linkage.triage_learn import FOLDS, desk_rows, learn

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
    from linkage.store import Store

    store = Store(Settings().database_url)
    if args.ack:
        if not store.acknowledge(args.ack):
            raise LinkageError(f"no outbox message {args.ack}")
        if args.json:
            _print_json({"key": args.ack, "status": "delivered"})
        else:
            print(f"{args.ack}: delivered")
        return 0
    rows = store.outbox(target=args.target, status=args.status, limit=args.limit)
    if args.json:
        _print_json([r.model_dump(mode="json") for r in rows])
    else:
        print(render_outbox(rows))
    return 0


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkage",
        description="12345 热线 与 110 平台 对接联动: divert incidents and see each one through.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("up", help="run the system: Temporal dev server, Web UI and a worker")
    p.add_argument("--port", type=int, default=7233, help="Temporal frontend port")
    p.add_argument("--ui-port", type=int, default=8233, help="Web UI port")

    sub.add_parser("worker", help="run a worker against a running Temporal server")

    p = sub.add_parser("divert", parents=[json_flag], help="push an incident (分流推送)")
    p.add_argument(
        "file",
        help="a JSON report, or a list of them (checked whole first: one bad report and none is "
        "diverted); - reads stdin",
    )

    p = sub.add_parser("status", parents=[json_flag], help="stage, loops, deadlines, timeline")
    p.add_argument("id", help="incident ID, e.g. police-JJ20261129001")

    actions_help = "\n".join(f"  {name:<18} {spec.help}" for name, spec in ACTIONS.items())
    p = sub.add_parser(
        "act",
        parents=[json_flag],
        help="take a party's action on an incident",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"actions:\n{actions_help}\n\nroles: {', '.join(Role.__members__)}",
    )
    p.add_argument("id", help="incident ID")
    p.add_argument("action", choices=list(ACTIONS), metavar="ACTION", help="see below")
    p.add_argument(
        "--as",
        dest="actor",
        required=True,
        type=parse_actor,
        metavar="ROLE:UNIT[/PERSON]",
        help="who acts",
    )
    p.add_argument("--unit", help="the unit to command or dispatch to")
    p.add_argument("--units", type=_comma_list, help="emergency unit codes, e.g. 119,120,gas")
    p.add_argument("--reason", help="why (send-back, dispute, return, extend, reject)")
    p.add_argument("--note", help="a note for the timeline")
    p.add_argument("--hours", type=float, help="extension asked for")
    p.add_argument("--result", help="what the handling unit did (feedback)")
    p.add_argument("--message", help="the reply to the citizen")
    p.add_argument("--outcome", choices=[o.value for o in RevisitOutcome], help="revisit result")
    p.add_argument("--owner", choices=[o.value for o in Owner], help="who handles (settle)")
    p.add_argument("--divert-reason", dest="divert_reason", help="revised push reason (resubmit)")
    p.add_argument("--direction", choices=get_args(Direction), help="triage-decide: who handles")
    p.add_argument("--subcategory", help="triage-decide: catalogue item, e.g. H02.07 or 餐饮油烟")
    p.add_argument(
        "--whistle",
        type=int,
        metavar="N",
        help="the whistle to act on (default: the newest open one that summoned you)",
    )

    p = sub.add_parser(
        "whistle",
        parents=[json_flag],
        help="blow the whistle (吹哨): summon units to report in and handle jointly",
    )
    p.add_argument("id", help="incident ID")
    p.add_argument(
        "--as",
        dest="actor",
        required=True,
        type=parse_actor,
        metavar="ROLE:UNIT[/PERSON]",
        help="the duty officer who blows it",
    )
    p.add_argument("--reason", required=True, help="why (重大风险隐患、可能影响社会稳定 …)")
    p.add_argument("--units", required=True, help="the units summoned, comma-separated")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="HOURS",
        help="hours to report in (default: the time-limit table's)",
    )

    p = sub.add_parser("list", parents=[json_flag], help="search incidents (Temporal visibility)")
    p.add_argument("--stage", choices=[s.value for s in Stage])
    p.add_argument("--owner", choices=[o.value for o in Owner])
    p.add_argument("--township", help="镇（街道）or zone, e.g. 黄埭镇")
    p.add_argument("--overdue", action="store_true", help="only incidents with a missed deadline")
    p.add_argument("--whistled", action="store_true", help="only incidents with a whistle blown")
    p.add_argument("--running", action="store_true", help="only incidents still open")
    p.add_argument("--limit", type=int, default=100)

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
    p.add_argument("--limit", type=int, default=100)

    p = sub.add_parser(
        "demo", parents=[json_flag], help="feed realistic incidents and play every party"
    )
    p.add_argument("--pace", type=float, default=2.0, help="seconds between a party's actions")
    return parser


async def _with_client(handler: Callable[..., Awaitable[int]], args) -> int:
    client = await LinkageClient.connect()
    return await handler(args, client)


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            from linkage.devserver import run_system

            return run_system(port=args.port, ui_port=args.ui_port)
        if args.command == "worker":
            from workers.main import main as worker_main

            worker_main()
            return 0
        if args.command == "demo":
            from linkage.demo import run_demo

            return asyncio.run(run_demo(pace=args.pace, as_json=args.json))
        if args.command == "outbox":
            return cmd_outbox(args)
        if args.command == "triage":
            return cmd_triage(args)
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
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        print(
            "linkage: no answer from the incident in time: is a worker running "
            "(linkage up, or linkage worker)?",
            file=sys.stderr,
        )
        return 1
    except RPCError as err:
        print(f"linkage: Temporal refused the request: {err}", file=sys.stderr)
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
    """
    code = run()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
