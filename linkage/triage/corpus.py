"""Labelled rows for training and checking triage: the project's own sets, a district's own
files (`linkage triage learn --data`), and real message-board posts kept outside the repository.

Real posts (../shared/data/triage-real, or LINKAGE_TRIAGE_REAL_DATA) are read where they lie and
never copied into the repository: their licence allows training and evaluation only. A fifth of
them, chosen by a hash of their ID, is held out: no training, cross-validation or choice of
features, weights or thresholds reads it, and the benchmark reports on it alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

from linkage.settings.paths import PROJECT_ROOT
from linkage.triage.training import UNKNOWN, Row

OWN_DIR = PROJECT_ROOT / "tests/data/triage"
REAL_LABELS = OWN_DIR / "labels/real-police-handled.jsonl"  # IDs and labels only, no text
HELD_OUT_SHARE = 0.2
MAX_DATA_BYTES = 256 * 1024 * 1024
DIRECTIONS = ("police", "hotline", "both")


def real_dir() -> Path:
    return Path(
        os.environ.get("LINKAGE_TRIAGE_REAL_DATA")
        or PROJECT_ROOT.parent / "shared/data/triage-real"
    )


def held_out(row_id: str) -> bool:
    """The fixed fifth of the real posts that only the benchmark reads."""
    digest = hashlib.sha256(f"triage-real:{row_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < HELD_OUT_SHARE * 2**32


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def real_rows(part: str = "train", folder: Path | None = None) -> list[Row]:
    """The real posts of one part ("train" or "held_out"), [] when they are not here.

    Every board post is a 12345 matter with no catalogue item (the board's own categories are
    not the catalogue's), except those whose reply says the police handled it: those carry the
    labels a person gave them by reading (REAL_LABELS)."""
    folder = folder or real_dir()
    if not (folder / "board-labelled.jsonl").exists():
        return []
    want = part == "held_out"
    labels = {r["id"]: r for r in _jsonl(REAL_LABELS)} if REAL_LABELS.exists() else {}
    rows = []
    for name in ("board-labelled.jsonl", "board-unlabelled.jsonl"):
        for r in _jsonl(folder / name):
            if held_out(r["id"]) != want:
                continue
            label = labels.get(r["id"])
            if label is not None:
                category = label["category"] if label["category"] != "-" else UNKNOWN
                direction, safety = label["direction"], label["safety"]
                rows.append(Row(r["text"], "", direction, category, safety, f"real:{r['id']}"))
            elif not r.get("reply_mentions_police"):
                rows.append(Row(r["text"], "", "hotline", UNKNOWN, False, f"real:{r['id']}"))
    return rows


def own_rows(names, folder: Path = OWN_DIR) -> list[Row]:
    rows = []
    for name in names:
        for r in _jsonl(folder / name):
            rows.append(
                Row(r["text"], r["township"], r["direction"], r["category"], r["safety"], name)
            )
    return rows


def data_rows(
    path: Path, default_direction: str | None = None, categories: set[str] | None = None
) -> list[Row]:
    """A district's labelled rows: JSON Lines, or CSV with a header (an export from its own
    system), each row with `text` and `direction` (police, hotline or both), optionally
    `category`, `township` and `safety`. A row without a direction takes `default_direction`
    (say hotline for a file of 12345 matters). A bad row is refused naming its line and
    field, and nothing is learned. A subcategory code (H02.06) stands for its category; with
    `categories`, a code not in the catalogue is refused."""
    size = path.stat().st_size
    if size > MAX_DATA_BYTES:
        raise ValueError(f"{path.name}: {size} bytes, more than {MAX_DATA_BYTES}")
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        records = list(csv.DictReader(io.StringIO(raw)))
        start = 2
    else:
        records, start = [], 1
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                records.append(None)
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path.name} line {number}: not valid JSON: {err.msg}") from None
    rows = []
    for number, record in enumerate(records, start=start):
        if record is None:
            continue
        row = _row(record, f"{path.name} line {number}", default_direction, path.name)
        if categories is not None and row.category not in {*categories, "-", UNKNOWN}:
            where = f"{path.name} line {number}"
            raise ValueError(f"{where}: category: {row.category!r} is not in the catalogue")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path.name}: no rows")
    return rows


def _row(record, where: str, default_direction: str | None, source: str) -> Row:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: a row must be an object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: text: required, a non-empty string")
    direction = record.get("direction") or default_direction
    if direction not in DIRECTIONS:
        raise ValueError(f"{where}: direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    category = str(record.get("category") or UNKNOWN).split(".")[0]
    safety = record.get("safety", False)
    if isinstance(safety, str):
        if safety.lower() not in ("true", "false", "1", "0", ""):
            raise ValueError(f"{where}: safety: {safety!r} is not true or false")
        safety = safety.lower() in ("true", "1")
    if not isinstance(safety, bool):
        raise ValueError(f"{where}: safety: must be true or false")
    township = record.get("township") or ""
    return Row(text, str(township), direction, category, safety, f"{source}:{where}")
