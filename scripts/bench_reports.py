"""Benchmark: the periodic reports on a month of incidents in PostgreSQL.

Fills a schema of its own with synthetic records written in bulk through SQL (COPY), not through
Temporal: N incidents received over November 2026 in ten townships, about two thirds pushed by
110 to 12345 (a work order with its steps: dispatch, sign or a late sign, some returns,
extensions, supervisions, feedback, close, revisit, some reopened) and a third the other way (a
police case: receive, command, arrive, feedback), some disputed and settled, some whistles and
emergency linkages. Then builds the monthly, quarterly and annual reports (every format) and
prints, per size, the seconds each took and the Python memory at its peak while building
(tracemalloc), so a larger month showing the same peak is what "memory flat" means.

    .venv/bin/python scripts/bench_reports.py [--sizes 3000 30000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.assessment.reports import produce as reports
from linkage.domain.periods import Period
from linkage.records.store import Store
from linkage.records.tables import Incident, PoliceCase, StepEvent, WorkOrder

TABLES = {
    "incident": Incident,
    "workorder": WorkOrder,
    "policecase": PoliceCase,
    "stepevent": StepEvent,
}

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TOWNSHIPS = [f"{name}镇" for name in "黄埭渭塘北桥望亭太平阳澄湖元和漕湖黄桥北河泾"][:10]
UNITS = ["区城管局", "区水务局", "区住建局", "区市场监管局", "区生态环境局", "黄埭镇政府"]
STATIONS = ["黄埭派出所", "渭塘派出所", "北桥派出所", "望亭派出所", "元和派出所"]
ITEMS = [("H02.01", "市容管理"), ("H01.01", "公共设施"), ("H07.01", "矛盾纠纷类")]
ITEMS += [("H02.05", "市容管理"), ("H05.02", "环境保护类"), ("P03.01", "道路交通管理")]
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 November, 00:00 in Asia/Shanghai


def fill(url: str, count: int, seed: int = 11) -> int:
    """Write `count` incidents and their records; the number of step events written."""
    rng = random.Random(seed)
    incidents, orders, cases, steps = [], [], [], []
    for n in range(count):
        iid = f"police-B{n:07d}" if n % 3 else f"hotline-B{n:07d}"
        received = START + timedelta(seconds=rng.randrange(30 * 86400 - 7200))
        township = rng.choice(TOWNSHIPS)
        code, category = rng.choice(ITEMS)
        disputed = rng.random() < 0.05
        owner = "hotline" if n % 3 else "police"
        incidents.append(
            (
                iid,
                iid.split("-")[0],
                iid[-8:],
                received,
                township,
                f"{township}路{n}号",
                category,
                "routine",
                "synthetic",
                "synthetic",
                "x",
                "",
                "13900000000",
                "",
                "closed",
                owner,
                "bench",
                1 + (rng.random() < 0.05),
                rng.random() < 0.1,
                code[:3],
                code,
                owner,
                0.9,
                False,
                False,
                "",
                "bench",
                9,
                received,
            )
        )
        seq = 0

        def step(loop, action, at, unit="", iid=iid):
            nonlocal seq
            seq += 1
            steps.append((f"{iid}.{loop}#{seq}", iid, at, loop, action, action, "system", "", unit))

        step("incident", "enter", received)
        if disputed:
            step("incident", "dispute", received + timedelta(minutes=30))
            step("incident", "settle", received + timedelta(hours=2))
        t = received + timedelta(hours=2)
        if owner == "hotline":
            unit = rng.choice(UNITS)
            step("hotline", "dispatch", t, unit)
            returns = int(rng.random() < 0.08)
            if returns:
                step("hotline", "return", t + timedelta(minutes=40), unit)
                unit = rng.choice(UNITS)
                t += timedelta(hours=1)
                step("hotline", "dispatch", t, unit)
            late = rng.random() < 0.1
            step(
                "hotline",
                "auto_sign" if late else "sign",
                t + timedelta(minutes=rng.randrange(5, 130)),
                unit,
            )
            if rng.random() < 0.05:
                step("hotline", "extension_approved", t + timedelta(hours=20), unit)
            missed = rng.random() < 0.08
            if missed:
                step("hotline", "supervise", t + timedelta(hours=121), unit)
            done = t + timedelta(hours=rng.uniform(3, 140))
            step("hotline", "feedback", done, unit)
            step("hotline", "close", done + timedelta(hours=2))
            outcome = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [7, 2, 1])[
                0
            ]
            step("hotline", outcome, done + timedelta(hours=20))
            orders.append(
                (
                    f"GD-{iid}",
                    iid,
                    unit,
                    "done",
                    returns,
                    int(outcome == "dissatisfied"),
                    missed,
                    True,
                    not (late or missed),
                    outcome,
                    seq,
                    received,
                )
            )
        else:
            station = rng.choice(STATIONS)
            step("police", "receive", t)
            step("police", "command", t + timedelta(minutes=rng.uniform(1, 25)), station)
            step("police", "arrive", t + timedelta(minutes=rng.uniform(10, 90)), station)
            step("police", "feedback", t + timedelta(hours=rng.uniform(1, 30)), station)
            cases.append(
                (f"JJ-{iid}", iid, station, "done", False, True, rng.random() < 0.8, seq, received)
            )
            if rng.random() < 0.05:
                step("incident", "emergency_linkage", t)
                step(
                    "emergency",
                    "acknowledge",
                    t + timedelta(minutes=rng.uniform(1, 20)),
                    "区消防救援大队",
                )
        if rng.random() < 0.02:
            step("whistle", "blow", t + timedelta(hours=3))
            step("whistle", "report_in", t + timedelta(hours=4), rng.choice(UNITS))
            step("whistle", "missed", t + timedelta(hours=5), "区公安分局")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, rows in (
            ("incident", incidents),
            ("workorder", orders),
            ("policecase", cases),
            ("stepevent", steps),
        ):
            columns = ", ".join(c.name for c in TABLES[table].__table__.columns)
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cur.execute("ANALYZE")
    return len(steps)


def measure(store: Store, out: Path) -> dict[str, dict]:
    figures = {}
    for kind, label in (("monthly", "2026-11"), ("quarterly", "2026-Q4"), ("annual", "2026")):
        tracemalloc.start()
        started = time.perf_counter()
        made = reports.produce(store, Period.parse(kind, label), out=out)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures[kind] = {
            "seconds": round(seconds, 2),
            "peak_mib": round(peak / 2**20, 1),
            "orders": made.report.summary.get("orders"),
        }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    admin = psycopg.connect(POSTGRES, autocommit=True)
    for size in args.sizes:
        schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
            store = Store(url)
            started = time.perf_counter()
            steps = fill(url, size)
            filled = time.perf_counter() - started
            with tempfile.TemporaryDirectory() as out:
                figures = measure(store, Path(out))
            store.engine.dispose()
            results.append(
                {"incidents": size, "steps": steps, "fill_s": round(filled, 1)}
                | {"reports": figures}
            )
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("target: each report in seconds, not minutes; memory flat as the month grows")
    print(
        f"{'incidents':>9} {'steps':>8} {'report':<9} {'seconds':>8} {'peak MiB':>9} {'orders':>7}"
    )
    for result in results:
        for kind, f in result["reports"].items():
            print(
                f"{result['incidents']:>9} {result['steps']:>8} {kind:<9} {f['seconds']:>8} "
                f"{f['peak_mib']:>9} {f['orders']!s:>7}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
