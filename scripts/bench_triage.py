"""Triage benchmark: accuracy on the evaluation sets, safety-floor recall, review share, speed.

    .venv/bin/python scripts/bench_triage.py [--errors] [FILE.jsonl ...]

Default files: tests/data/triage/dev.jsonl and safety.jsonl (tuned against), holdout.jsonl and
holdout2.jsonl (never tuned against). Speed is measured in this one process, on one core:
descriptions per second over the whole set repeated, and the slowest 1% of single calls.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.triage import TriageRequest, load_triager  # noqa: E402

DEFAULT_SETS = [
    ROOT / "tests/data/triage/dev.jsonl",
    ROOT / "tests/data/triage/safety.jsonl",
    ROOT / "tests/data/triage/holdout.jsonl",
    ROOT / "tests/data/triage/holdout2.jsonl",
]


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {expected for expected, _ in pairs}
    scores = []
    for label in sorted(labels):
        tp = sum(1 for e, p in pairs if e == label and p == label)
        fp = sum(1 for e, p in pairs if e != label and p == label)
        fn = sum(1 for e, p in pairs if e == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0)
    return sum(scores) / len(scores)


def evaluate(triager, path: Path, show_errors: bool) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    results = [triager.triage(TriageRequest(text=r["text"], township=r["township"])) for r in rows]
    n = len(rows)
    direction_ok = sum(r["direction"] == x.direction for r, x in zip(rows, results, strict=True))
    pairs = [
        (r["category"], x.category.code if x.category else "-")
        for r, x in zip(rows, results, strict=True)
    ]
    category_ok = sum(e == p for e, p in pairs)
    sub_ok = sum(
        r["subcategory"] == (x.subcategory.code if x.subcategory else "")
        for r, x in zip(rows, results, strict=True)
    )
    safety = [(r, x) for r, x in zip(rows, results, strict=True) if r["safety"]]
    floor_kept = sum(x.direction != "hotline" for _, x in safety)
    unreviewed = sum(x.direction == "hotline" and not x.needs_review for _, x in safety)
    floor_flagged = sum(bool(x.safety) for _, x in safety)
    false_floor = sum(bool(x.safety) for r, x in zip(rows, results, strict=True) if not r["safety"])
    reviewed = [(r, x) for r, x in zip(rows, results, strict=True) if x.needs_review]
    decided = [(r, x) for r, x in zip(rows, results, strict=True) if not x.needs_review]
    decided_ok = sum(r["direction"] == x.direction for r, x in decided)

    print(f"\n{path.name}: {n} descriptions ({len(safety)} on the safety floor)")
    print(f"  direction accuracy       {direction_ok / n:7.1%}")
    print(f"  category accuracy        {category_ok / n:7.1%}   macro-F1 {macro_f1(pairs):.3f}")
    print(f"  subcategory accuracy     {sub_ok / n:7.1%}")
    print(
        f"  safety-floor recall      {floor_kept / len(safety):7.1%}   (kept with 110; "
        f"flagged by the floor {floor_flagged}/{len(safety)}; flagged without need {false_floor})"
    )
    print(f"  dangers to 12345 with no review: {unreviewed}")
    print(
        f"  sent to review           {len(reviewed) / n:7.1%}   (direction accuracy of the "
        f"rest {decided_ok / max(1, len(decided)):.1%})"
    )
    confusion = Counter(
        (r["direction"], x.direction)
        for r, x in zip(rows, results, strict=True)
        if r["direction"] != x.direction
    )
    if confusion:
        print(
            "  direction errors (expected → got): "
            + ", ".join(f"{e}→{g} {c}" for (e, g), c in confusion.most_common())
        )
    if show_errors:
        for r, x in zip(rows, results, strict=True):
            got = x.subcategory.code if x.subcategory else "-"
            if r["direction"] != x.direction or r["category"] != got[:3]:
                print(
                    f"    {r['id']} want {r['direction']}/{r['subcategory']} got "
                    f"{x.direction}/{got} {x.confidence:.2f} {'R' if x.needs_review else ' '} "
                    f"{x.evidence[:4]} {r['text'][:60]}"
                )


def speed(triager, paths: list[Path]) -> None:
    texts = []
    for path in paths:
        texts += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    requests = [TriageRequest(text=r["text"], township=r["township"]) for r in texts]
    rounds = max(1, 5000 // len(requests))
    latencies = []
    start = time.perf_counter()
    for _ in range(rounds):
        for request in requests:
            t0 = time.perf_counter()
            triager.triage(request)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"\nspeed (one process, one core): {len(latencies) / elapsed:,.0f} descriptions/s; "
        f"p99 latency {p99 * 1000:.2f} ms; max {latencies[-1] * 1000:.2f} ms "
        f"({len(latencies)} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--errors", action="store_true", help="list every misclassification")
    args = parser.parse_args()
    paths = args.files or [p for p in DEFAULT_SETS if p.exists()]
    t0 = time.perf_counter()
    triager = load_triager()
    print(
        f"catalogue {triager.catalogue.version}, routing {triager.routing.version}; "
        f"loaded in {time.perf_counter() - t0:.2f} s"
    )
    for path in paths:
        evaluate(triager, path, args.errors)
    speed(triager, paths)


if __name__ == "__main__":
    main()
