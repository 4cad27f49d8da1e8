"""`linkage divert`: push one report, or a list of them checked whole first (分流推送)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import Any

from linkage.client.errors import LinkageError
from linkage.domain.timefmt import district_zone
from linkage.interfaces.cli.common import print_json, read_json, rpc_failure, with_client


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
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


def run(args) -> int:
    args.data = read_json(args.file)  # a bad file is refused before anything is reached
    return asyncio.run(with_client(cmd_divert, args))


def _reports(count: int) -> str:
    return f"{count} report" if count == 1 else f"{count} reports"


def _divert_note(result) -> str:
    from linkage.domain.models import STAGE_LABELS

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


def _print_diverted(result, where: str = "") -> None:
    print(f"{where}{result.incident_id}{_divert_note(result)}")
    if result.harassment_case:
        print(
            f"{where}{result.harassment_case}  (恶意骚扰: this caller's reports passed the "
            f"harassment rule; a case was opened for police)"
        )


def check_reports(reports: list[Any]) -> tuple[list, list[tuple[int, str]]]:
    """Validate every report of a list: the good ones, and (its number from 1, `field: problem`)
    for each problem of the bad ones."""
    from linkage.client.diverting import parse_report

    good: list = []
    bad: list[tuple[int, str]] = []
    for number, data in enumerate(reports, start=1):
        try:
            good.append(parse_report(data))
        except LinkageError as err:
            for line in str(err).splitlines():
                bad.append((number, line.removeprefix("report: ")))
    return good, bad


async def cmd_divert(args, client) -> int:
    """One report, or a list of them. A list is checked whole first: if any report is bad,
    every problem is printed and none is diverted. Then each is diverted and each one's
    outcome printed (its incident ID, or why it failed)."""
    from linkage.client.diverting import parse_report

    data = args.data if hasattr(args, "data") else read_json(args.file)
    if args.now:
        _stamp_now(data)
    if not isinstance(data, list):
        result = await client.divert(parse_report(data))
        if args.json:
            print_json(result)
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
            print_json([{"index": n, "error": "\n".join(e)} for n, e in errors.items()])
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
        print_json(outcomes)
    return 1 if any("error" in o for o in outcomes) else 0


def _stamp_now(data: Any) -> None:
    """--now: each report's received_at becomes the present moment (to try the examples)."""
    now = datetime.now(district_zone()).isoformat(timespec="seconds")
    for report in data if isinstance(data, list) else [data]:
        if isinstance(report, dict):
            report["received_at"] = now


def _divert_failure(err: Exception) -> str:
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError

    if isinstance(err, LinkageError):
        return str(err)
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return "no answer from the intake in time: is a worker running?"
    if isinstance(err, RPCError):
        return rpc_failure(err)
    return f"{type(err).__name__}: {err}"
