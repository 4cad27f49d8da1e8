"""`linkage report`: the periodic reviews and the evidence, from the records database.

linkage report monthly [--period 2026-11] [--unit U] [--out DIR]   (also quarterly, annual)
linkage report list [--kind monthly]
linkage report evidence [--period 2026-11] [--unit U] [--out FILE.xlsx|.csv|.json]
linkage report schedules [--backfill monthly:2026-09:2026-11]
"""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from linkage.client import LinkageError
from linkage.domain.periods import KIND_LABELS, KINDS, Period
from linkage.settings.config import Settings


def add_parser(sub, json_flag) -> None:
    p = sub.add_parser(
        "report",
        parents=[json_flag],
        help="月研判 / 季会商 / 年总结, the reports produced, and supervision evidence",
    )
    what = p.add_subparsers(dest="report_command", required=True, metavar="WHAT")
    for kind in KINDS:
        k = what.add_parser(kind, parents=[json_flag], help=f"{KIND_LABELS[kind]} ({kind})")
        k.add_argument(
            "--period", help="2026-11 | 2026-Q4 | 2026 (default: the current one, so far)"
        )
        k.add_argument("--unit", default="", help="one unit's own report")
        k.add_argument(
            "--out", type=Path, help="directory for the files (default .linkage/reports)"
        )
    k = what.add_parser("list", parents=[json_flag], help="the reports produced")
    k.add_argument("--kind", choices=KINDS)
    k.add_argument("--limit", type=int, default=50)
    k = what.add_parser("evidence", parents=[json_flag], help="督办问责依据 and the 约谈 list")
    k.add_argument(
        "--period", help="a month (2026-11), quarter or year (default: this month, so far)"
    )
    k.add_argument("--unit", help="one unit's evidence")
    k.add_argument("--out", type=Path, help="write it as .xlsx, .csv or .json")
    k = what.add_parser("schedules", parents=[json_flag], help="create the Temporal Schedules")
    k.add_argument(
        "--backfill",
        action="append",
        default=[],
        metavar="KIND:FROM:TO",
        help="run a schedule for past periods, e.g. monthly:2026-09:2026-11",
    )


def _period(text: str | None, kind: str | None = None) -> Period:
    """The period named, or the one running now (its report covers it so far)."""
    if text is None:
        return Period.containing(kind or "monthly", datetime.now(UTC))
    kind = kind or ("quarterly" if "Q" in text else ("monthly" if "-" in text else "annual"))
    try:
        return Period.parse(kind, text)
    except ValueError as err:
        raise LinkageError(str(err)) from None


def _unit_code(name: str | None) -> str:
    """--unit as the register's code, which the records count by (a name, short name or alias
    is accepted); a name that is no unit is refused before anything is read or written."""
    from linkage.domain.units import UnknownUnit, load_register

    if not name:
        return ""
    try:
        return load_register().resolve(name, None, "--unit").code
    except UnknownUnit as err:
        raise LinkageError(f"report: {err}") from None


# each subcommand's action in the policy: the reviews are produced and listed by those who
# supervise, the evidence read by them and by a unit for itself, the schedules the operator's
ACTIONS = {
    **dict.fromkeys(KINDS, "report.produce"),
    "list": "report.list",
    "evidence": "report.evidence",
    "schedules": "report.schedules",
}


def run(args) -> int:
    from linkage.interfaces.cli.guard import authorize_command
    from linkage.records.store import Store

    command = args.report_command
    if command in KINDS or command == "evidence":
        args.unit = _unit_code(args.unit)
    store = Store(Settings().database_url)
    scope = {"unit": args.unit} if command == "evidence" else {}
    done = authorize_command(args, store, ACTIONS[command], **scope)
    asked = {
        key: str(value)
        for key in ("period", "unit", "kind", "out", "backfill")
        if (value := getattr(args, key, None))
    }
    try:
        if command in KINDS:
            code = _produce(args, store)
        elif command == "list":
            code = _list(args, store)
        elif command == "evidence":
            code = _evidence(args, store)
        else:
            code = asyncio.run(_schedules(args))
    except Exception as err:
        done(reason=f"failed: {str(err)[:900]}", detail={"report": command, **asked})
        raise
    done(detail={"report": command, **asked})
    return code


def _produce(args, store) -> int:
    from linkage.assessment.reports import produce as reports

    period = _period(args.period, args.report_command)
    made = reports.produce(store, period, unit=args.unit, out=args.out)
    if args.json:
        print(
            json.dumps(
                {"id": made.row.id, "files": made.files, "summary": made.row.summary},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(made.report.title)
    for fmt, path in made.files.items():
        print(f"  {fmt:<5} {path}")
    named = sorted(set(made.report.named_units))
    if named:
        print(f"  通报 named units: {'、'.join(named)}")
    return 0


def _list(args, store) -> int:
    from linkage.assessment.reports.produce import list_reports

    rows = list_reports(store, args.kind, args.limit)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no reports produced yet (linkage report monthly --period …, or the schedules)")
    for r in rows:
        when = r.produced_at.strftime("%Y-%m-%d %H:%M")
        print(f"{r.id:<40} {when}  {r.produced_by:<30} {r.files.get('html', '')}")
    return 0


def _evidence(args, store) -> int:
    from linkage.assessment.evidence import COLUMNS, evidence, interview_list
    from linkage.assessment.reports.model import fmt
    from linkage.assessment.scoring import load_assessment
    from linkage.domain.time_limits import load_time_limits
    from linkage.domain.units import load_register

    period = _period(args.period)
    with store.engine.connect() as conn:
        rows = evidence(conn, period, load_time_limits().hotline.max_returns, args.unit)
    listed = interview_list(rows, load_assessment().interview)
    register = load_register()
    for row in rows + listed:  # names where people read them
        row["name"] = register.name_of(row["unit"])
    for row in rows:
        row["note"] = register.humanize(row["note"] or "")
    out: Path | None = args.out
    if out is not None:
        _export(out, rows, listed)
        print(f"{len(rows)} entries, {len(listed)} units for 约谈: {out}")
        return 0
    if args.json:
        print(json.dumps({"evidence": rows, "interview": listed}, ensure_ascii=False, default=str))
        return 0
    for row in rows:
        print("  ".join(fmt(row[c]) for c in ("name", *COLUMNS[1:])))  # times in Asia/Shanghai
    for unit in listed:
        print(f"约谈 {unit['name']}: {unit['reasons']}")
    return 0


def _export(out: Path, rows: list[dict], listed: list[dict]) -> None:
    from linkage.assessment.evidence import COLUMNS
    from linkage.assessment.reports.model import fmt

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        data = {"evidence": rows, "interview": listed}
        out.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    elif out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8-sig") as handle:  # Excel reads the BOM
            writer = csv.DictWriter(handle, fieldnames=("name", *COLUMNS))
            writer.writeheader()
            writer.writerows(row | {"at": fmt(row["at"])} for row in rows)
    elif out.suffix == ".xlsx":
        from linkage.assessment.evidence import HEADINGS
        from linkage.assessment.reports.excel import write_tables
        from linkage.assessment.reports.model import Table

        write_tables(
            [
                Table(
                    "evidence",
                    "督办问责依据",
                    [("name", "单位"), *((c, HEADINGS[c]) for c in COLUMNS)],
                    rows,
                ),
                Table(
                    "interview",
                    "约谈提醒名单",
                    [("name", "单位"), ("unit", "单位代码"), ("reasons", "原因")],
                    listed,
                ),
            ],
            out,
        )
    else:
        raise LinkageError(f"--out: {out.name}: write .xlsx, .csv or .json")


async def _schedules(args) -> int:
    from linkage.client import LinkageClient
    from linkage.ops.schedules import backfill, ensure_schedules

    client = await LinkageClient.connect()
    settings = Settings()
    created = await ensure_schedules(client.client, settings.task_queue)
    print(f"schedules: {', '.join(created) or 'all present'}")
    for spec in args.backfill:
        kind, _, rest = spec.partition(":")
        first, _, last = rest.partition(":")
        if kind not in KINDS or not first or not last:
            raise LinkageError("--backfill: KIND:FROM:TO, e.g. monthly:2026-09:2026-11")
        periods = await backfill(
            client.client, kind, Period.parse(kind, first), Period.parse(kind, last)
        )
        print(f"backfilled {kind}: {', '.join(p.label for p in periods)}")
    return 0
