"""Triage benchmark: the issue's figures for every labelled set, and speed against jieba alone.

    .venv/bin/python scripts/bench_triage.py [--errors] [--model PATH] [FILE.jsonl ...]

Beside the project's own sets, the held-out fifth of the real message-board posts
(linkage.triage.corpus: never read by training or by any choice of features, weights or
thresholds) is reported where it is at hand (../shared/data/triage-real, or
LINKAGE_TRIAGE_REAL_DATA), with the real-post targets: read as 12345 >= 95%, emergency units
notified <= 0.5%, sent to the desk <= 15%. --model compares a candidate (`linkage triage learn
--out PATH`) before it is promoted.

Default files: every set in tests/data/triage/. dev.jsonl and safety.jsonl are the training
sets (the rules were tuned against them and the model learns from them); every other set is
unseen: only its figures are read. Per set it prints the four target figures of the issue:
  safety floor  dangers kept with 110 or at the desk (target >= 99%), and dangers sent to 12345
                with no review (target 0);
  complaints    ordinary 12345 matters read as police or both (<= 5%) and those for which an
                emergency unit would be notified (<= 1%);
  desk          share sent to the linkage desk (<= 15%);
  direction     accuracy of the direction (>= 90%).
Speed is measured in this one process, on one core, over every set's texts: triage (rules and
model) against plain jieba segmentation (jieba.lcut, its own dictionary) of the same texts.
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

from linkage.domain.triage_result import TriageRequest
from linkage.triage.triager import load_triager

DATA = ROOT / "tests/data/triage"
TRAINING = {"dev.jsonl", "safety.jsonl", "police-more.jsonl"}
ORDER = ["dev.jsonl", "safety.jsonl", "police-more.jsonl", "holdout.jsonl", "holdout2.jsonl"]


def default_sets() -> list[Path]:
    """The known sets in their order, then any other set in the folder."""
    known = [DATA / name for name in ORDER if (DATA / name).exists()]
    return known + sorted(p for p in DATA.glob("*.jsonl") if p.name not in ORDER)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def real_sets() -> dict[str, list[dict]]:
    """The real posts' held-out part as the benchmark's rows: the 12345 posts, and those a
    person labelled police or both by reading them."""
    from linkage.triage.corpus import real_rows

    rows = [
        {
            "id": r.source,
            "text": r.text[:4000],
            "township": "",
            "direction": r.direction,
            "category": r.category or "?",
            "subcategory": "?",
            "safety": r.safety,
        }
        for r in real_rows("held_out")
    ]
    if not rows:
        return {}
    sets = {
        "real-12345 (held out)": [r for r in rows if r["direction"] == "hotline"],
        "real-police (held out)": [r for r in rows if r["direction"] != "hotline"],
    }
    return {name: rows for name, rows in sets.items() if rows}


def evaluate(triager, path: Path | str, show_errors: bool, rows: list[dict] | None = None) -> dict:
    if rows is None:
        rows = read(path)
    name = path if isinstance(path, str) else path.name
    results = [triager.triage(TriageRequest(text=r["text"], township=r["township"])) for r in rows]
    pairs = list(zip(rows, results, strict=True))
    n = len(rows)
    direction_ok = sum(r["direction"] == x.direction for r, x in pairs)
    hotline = [(r, x) for r, x in pairs if r["direction"] == "hotline"]
    as_hotline = sum(x.direction == "hotline" for _, x in hotline) / len(hotline) if hotline else 1
    category_ok = sum(r["category"] == (x.category.code if x.category else "-") for r, x in pairs)
    dangers = [(r, x) for r, x in pairs if r["safety"]]
    kept = sum(x.direction != "hotline" or x.needs_review for _, x in dangers)
    unreviewed = sum(x.direction == "hotline" and not x.needs_review for _, x in dangers)
    complaints = [(r, x) for r, x in pairs if r["direction"] == "hotline" and not r["safety"]]
    as_police = sum(x.direction != "hotline" for _, x in complaints)
    notified = sum(bool(x.emergency_units) for _, x in complaints)
    desk = sum(x.needs_review for _, x in pairs)
    figures = {
        "n": n,
        "floor": kept / len(dangers) if dangers else 1.0,
        "unreviewed": unreviewed,
        "as_police": as_police / len(complaints) if complaints else 0.0,
        "notified": notified / len(complaints) if complaints else 0.0,
        "desk": desk / n,
        "direction": direction_ok / n,
        "as_hotline": as_hotline,
    }
    kind = "training" if name in TRAINING else "unseen"
    print(
        f"\n{name} ({kind}): {n} descriptions, {len(dangers)} dangers, "
        f"{len(complaints)} ordinary 12345 matters"
    )
    print(
        f"  safety floor kept        {figures['floor']:7.1%}   (target >= 99%; "
        f"to 12345 with no review: {unreviewed}, target 0)"
    )
    print(
        f"  12345 read as police/both{figures['as_police']:7.1%}   (target <= 5%; "
        f"emergency units notified {figures['notified']:.1%}, target <= 1%)"
    )
    if name.startswith("real-12345"):
        print(
            f"  read as 12345            {as_hotline:7.1%}   (target >= 95%; emergency units "
            f"notified {figures['notified']:.1%}, target <= 0.5%)"
        )
    print(f"  sent to the desk         {figures['desk']:7.1%}   (target <= 15%)")
    print(
        f"  direction accuracy       {figures['direction']:7.1%}   (target >= 90%; "
        f"category {category_ok / n:.1%})"
    )
    confusion = Counter(
        (r["direction"], x.direction) for r, x in pairs if r["direction"] != x.direction
    )
    if confusion:
        print(
            "  direction errors (expected → got): "
            + ", ".join(f"{e}→{g} {c}" for (e, g), c in confusion.most_common())
        )
    if show_errors and kind == "training":
        for r, x in pairs:
            got = x.subcategory.code if x.subcategory else "-"
            if r["direction"] != x.direction or (r["safety"] and x.direction == "hotline"):
                print(
                    f"    {r['id']} want {r['direction']}/{r['subcategory']} got "
                    f"{x.direction}/{got} {x.confidence:.2f} {'R' if x.needs_review else ' '} "
                    f"{x.evidence[:4]} {r['text'][:60]}"
                )
    return figures


def speed(triager, paths: list[Path]) -> None:
    """CPU time of this process (others' load on the machine counts less), triage and jieba
    taking turns round by round, so that both meet the same conditions."""
    import jieba

    texts = [row for path in paths for row in read(path)]
    requests = [TriageRequest(text=r["text"], township=r["township"]) for r in texts]
    plain = jieba.Tokenizer()
    plain.initialize()
    rounds = max(3, 3000 // len(requests))
    jieba_time = triage_time = 0.0
    latencies = []
    for _ in range(rounds):
        start = time.process_time()
        for request in requests:
            plain.lcut(request.text)
        jieba_time += time.process_time() - start
        start = time.process_time()
        for request in requests:
            t0 = time.perf_counter()
            triager.triage(request)
            latencies.append(time.perf_counter() - t0)
        triage_time += time.process_time() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    calls = len(latencies)
    print(
        f"\nspeed (one process, one core, {calls} calls, CPU time): triage "
        f"{calls / triage_time:,.0f} descriptions/s, p99 {p99 * 1000:.2f} ms wall; "
        f"jieba alone {calls / jieba_time:,.0f}/s; "
        f"triage takes {triage_time / jieba_time:.2f}× jieba (target <= 3×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument(
        "--errors", action="store_true", help="list the misclassifications of the training sets"
    )
    parser.add_argument("--model", type=Path, help="a candidate model file to read with")
    args = parser.parse_args()
    paths = args.files or default_sets()
    t0 = time.perf_counter()
    triager = load_triager()
    if args.model:
        from linkage.triage.model import load_model
        from linkage.triage.triager import Triager

        candidate = load_model(args.model)
        triager = Triager(triager.catalogue, triager.routing, model=candidate, rules=triager.rules)
    model = getattr(triager, "model", None)
    print(
        f"catalogue {triager.catalogue.version}, routing {triager.routing.version}, "
        f"model {model.version if model else '-'}; loaded in {time.perf_counter() - t0:.2f} s"
    )
    figures = {path.name: evaluate(triager, path, args.errors) for path in paths}
    real = real_sets() if not args.files else {}
    for name, rows in real.items():
        figures[name] = evaluate(triager, name, False, rows)
    if not args.files and not real:
        print("\nreal posts: not at hand (../shared/data/triage-real or LINKAGE_TRIAGE_REAL_DATA)")
    unseen = {name: f for name, f in figures.items() if name not in TRAINING}
    if unseen:
        print(
            "\nunseen sets             floor  unrev  as 12345  12345→110  notified  desk  direction"
        )
        for name, f in unseen.items():
            print(
                f"  {name:22} {f['floor']:5.1%} {f['unreviewed']:5d} {f['as_hotline']:9.1%} "
                f"{f['as_police']:9.1%} {f['notified']:9.1%} {f['desk']:5.1%} "
                f"{f['direction']:9.1%}"
            )
    speed(triager, paths)


if __name__ == "__main__":
    main()
