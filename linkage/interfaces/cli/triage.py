"""`linkage triage`: classify a description (非警务类警情甄别), a stream of them as JSON Lines, or
retrain the model from the labelled sets and the linkage desk's decisions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from linkage.client.errors import LinkageError
from linkage.interfaces.cli.common import print_json
from linkage.settings.config import Settings


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.description = (
        "TEXT is one description; - reads JSON Lines "
        '({"id": ..., "text": ..., "township": ...}) from stdin and writes one JSON line each. '
        "`linkage triage learn` retrains the model from the labelled training sets and the "
        "linkage desk's recorded decisions, and writes it only when its cross-validated safety "
        "floor is no worse than the current model's (exit 1 when refused)."
    )
    p.add_argument(
        "text",
        help="the caller's description, - for JSON Lines on stdin, learn (重新训练), or export "
        "(the desk's decisions as JSON Lines for learn --data)",
    )
    p.add_argument("--township", help="镇（街道）or zone, for the route")
    p.add_argument("--dry-run", action="store_true", help="learn: report, write nothing")
    p.add_argument("--folds", type=int, help="learn: cross-validation folds (default 5)")
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="PATH",
        help="learn: labelled rows of the district's own (JSON Lines, or CSV with a header): "
        "text, direction (police, hotline, both), optionally category, township, safety",
    )
    p.add_argument(
        "--default-direction",
        choices=["police", "hotline", "both"],
        help="learn: the direction of --data rows that give none (hotline for a file of "
        "12345 matters)",
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="learn: write the new model here instead of replacing the current one (to compare "
        "it first: scripts/bench_triage.py --model PATH); export: the file to write",
    )
    p.add_argument(
        "--no-real",
        action="store_true",
        help="learn: leave out the real message-board posts even where they are at hand",
    )


def run(args) -> int:
    return cmd_triage(args)


def cmd_triage(args) -> int:
    from linkage.domain.triage_result import TriageRequest
    from linkage.interfaces.cli.display import render_triage
    from linkage.triage.triager import load_triager, output_line, triage_json_line

    triager = load_triager()
    if args.text == "learn":
        return cmd_triage_learn(args, triager)
    if args.text == "export":
        return cmd_triage_export(args, triager)
    if args.text != "-":
        try:
            request = TriageRequest(text=args.text, township=args.township or "")
        except ValueError as err:
            raise LinkageError(f"text: {err}") from None
        result = triager.triage(request)
        if args.json:
            print_json(output_line(result))
        else:
            print(render_triage(result))
        return 0
    failed = 0
    for number, raw in enumerate(bounded_lines(), start=1):
        if raw is not None and not raw.strip():
            continue
        problem = _unreadable(raw)
        if problem is None:
            line = triage_json_line(triager, raw, number)
        else:
            line = {"id": None, "line": number, "error": problem}
        failed += "error" in line
        print(json.dumps(line, ensure_ascii=False), flush=False)
    return 1 if failed else 0


# A line holds one description (at most 4000 characters) and a township: 64 KiB is ample.
MAX_LINE_BYTES = 64 * 1024


def bounded_lines():
    """Standard input's lines, each read with a bound: a longer one is None (its rest read and
    dropped a bounded piece at a time), so an input without line breaks never fills memory."""
    stream = getattr(sys.stdin, "buffer", None) or sys.stdin
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        if len(chunk) <= MAX_LINE_BYTES or chunk[-1:] in (b"\n", "\n"):
            yield chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
            continue
        while chunk and chunk[-1:] not in (b"\n", "\n"):
            chunk = stream.readline(MAX_LINE_BYTES)
        yield None


def _unreadable(raw: str | None) -> str | None:
    """What makes a line unfit to parse further: too long, too deep, a number too long."""
    from linkage.interfaces.cli.common import MAX_DEPTH, depth

    if raw is None:
        return f"a line longer than {MAX_LINE_BYTES} bytes; one description to a line"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None  # said by the line's own answer
    except RecursionError:
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    except ValueError as err:
        return f"not valid JSON: {err}"
    return f"JSON nested deeper than {MAX_DEPTH} levels" if depth(data) > MAX_DEPTH else None


def cmd_triage_learn(args, triager) -> int:
    """Retrain the model from the training sets and the desk's decisions in the records."""
    from linkage.interfaces.cli.guard import authorize_command
    from linkage.records.store import Store
    from linkage.settings.paths import config_dir
    from linkage.triage.corpus import data_rows, real_rows
    from linkage.triage.learn import FOLDS, desk_rows, learn

    extra = []
    for name in args.data:  # checked before anything is authorised, read or learned
        path = Path(name)
        if not path.is_file():
            raise LinkageError(f"--data: {name}: no such file")
        try:
            extra += data_rows(path, args.default_direction, set(triager.catalogue.categories))
        except (ValueError, UnicodeDecodeError) as err:
            raise LinkageError(f"--data: {err}") from None
    store = Store(Settings().database_url)
    # it reads the desk's decisions and replaces the model every incident's triage uses
    done = authorize_command(args, store, "triage.learn")
    desk = desk_rows(store, triager.catalogue)
    if not args.no_real:
        extra = real_rows("train") + extra
    out = config_dir() / triager.catalogue.model.file
    out = None if args.dry_run else Path(args.out) if args.out else out
    try:
        learned = learn(triager, desk, out, k=args.folds or FOLDS, extra=extra)
    except Exception as err:
        done(reason=f"failed: {str(err)[:900]}", detail={"dry_run": args.dry_run})
        raise
    done(detail={"dry_run": args.dry_run, "version": learned.version, "written": learned.written})
    if args.json:
        print_json(
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


def cmd_triage_export(args, triager) -> int:
    """The desk's recorded decisions as JSON Lines in `learn --data`'s format, numbers set
    aside (they are the callers' words: an operator's action, audited)."""
    from linkage.interfaces.cli.guard import authorize_command
    from linkage.records.store import Store
    from linkage.triage.learn import desk_rows

    if not args.out:
        raise LinkageError("export: --out FILE is required")
    out = Path(args.out)
    if out.exists():
        raise LinkageError(f"--out: {out} exists; name a new file")
    store = Store(Settings().database_url)
    done = authorize_command(args, store, "triage.export")
    rows = desk_rows(store, triager.catalogue)
    lines = [
        {
            "id": row.source.removeprefix("desk:"),
            "text": triager.prepare(row.text),
            "township": row.township,
            "direction": row.direction,
            "category": row.category,
            "safety": row.safety,
        }
        for row in rows
    ]
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    # never over another file, and readable by its owner only
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)
    done(detail={"rows": len(lines), "file": out.name})
    print(f"{len(lines)} desk decisions 专席研判 written to {out}")
    return 0
