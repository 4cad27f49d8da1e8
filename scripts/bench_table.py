"""The figures of scripts/bench.py as a table for a person, phase by phase, with each
failure beside the phase it belongs to (--json prints the same figures as they are).
"""

from __future__ import annotations

import json
from pathlib import Path


def failure_lines(row: dict, indent: str = "    ") -> list[str]:
    lines = [f"{indent}FAILED: {row['error']}"] if row.get("error") else []
    for what, times in (row.get("failures") or {}).items():
        lines.append(f"{indent}FAILED x{times}: {what}")
    return lines


def cpu_lines(results: dict) -> list[str]:
    """CPU seconds per incident in each process, phase by phase."""
    rows = [
        (name, results[key])
        for key, name in (
            ("raw", "raw shape"),
            ("police_to_hotline", "110 → 12345"),
            ("hotline_to_police", "12345 → 110"),
        )
        if results.get(key, {}).get("cpu_s") and results[key].get("completed")
    ]
    if not rows:
        return []
    names = list(rows[0][1]["cpu_s"])
    lines = [
        "",
        "CPU ms per incident, by process",
        "  " + " " * 14 + "".join(f"{n:>17}" for n in names),
    ]
    for label, row in rows:
        used = [row["cpu_s"].get(n) for n in names]
        cells = "".join(
            f"{'—' if u is None else round(1000 * u / row['completed']):>17}" for u in used
        )
        lines.append(f"  {label:<14}{cells}")
    return lines


def profile_lines(name: str, profile: dict | None, rows: int = 10) -> list[str]:
    """The top of the worker's profile during a phase (scripts/bench_workers.Profile)."""
    if not profile:
        return []
    if "error" in profile:
        return ["", f"worker profile, {name}: {profile['error']}"]
    lines = ["", f"worker profile, {name} ({profile['samples']} samples): % of samples"]
    for title, key in (
        ("held the CPU", "self"),
        ("project's, with what they call", "project_inclusive"),
    ):
        lines.append(f"  {title}:")
        lines += [f"    {share:5.1f}%  {frame}" for frame, share in profile[key][:rows]]
    return lines


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


BEFORE = Path(__file__).with_name("bench_before.json")


def shown(value) -> str:
    """A figure as the targets' table shows it: yes/no, a number, a range of runs, or —."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        low, high = min(value), max(value)
        return f"{low:g}" if low == high else f"{low:g}–{high:g}"
    return f"{value:g}"


def targets(results: dict) -> list[str]:
    """Each figure the throughput work aims at: before it (bench_before.json), now, the aim."""
    before = json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.exists() else {}
    cli, open_, burst = results.get("cli", {}), results.get("open") or {}, results.get("burst")
    median = (results.get("rounds") or {}).get("median", {})
    rows = [
        ("110 → 12345 ÷ raw" + (" (median)" if median else ""),
         before.get("police_to_hotline_ratio"),
         median.get("police_to_hotline",
                    results.get("police_to_hotline", {}).get("ratio_to_raw")), "≥ 0.8"),
        ("12345 → 110 ÷ raw" + (" (median)" if median else ""),
         before.get("hotline_to_police_ratio"),
         median.get("hotline_to_police",
                    results.get("hotline_to_police", {}).get("ratio_to_raw")), "≥ 0.9"),
        ("linkage status, s (through the API)", before.get("status_s"),
         (cli.get("status_closed_api") or {}).get("median_s"), "≤ 0.5"),
        ("  directly", before.get("status_s"),
         (cli.get("status_closed") or {}).get("median_s"), "—"),
        ("linkage list --overdue, s (through the API)", before.get("list_overdue_s"),
         (cli.get("list_overdue_api") or {}).get("median_s"), "—"),
        (f"list --overdue, {open_.get('incidents', '—')} open, s (through the API)",
         before.get("open_list_overdue_s"),
         (open_.get("list_overdue_api") or {}).get("median_s"), "≤ 1 (10,000 open)"),
        ("  directly", before.get("open_list_overdue_s"),
         (open_.get("list_overdue") or {}).get("median_s"), "—"),
        (f"worker RSS, {open_.get('incidents', '—')} open, MB", before.get("open_rss_mb"),
         (open_.get("after") or {}).get("rss_mb"), "≤ 300 MiB (10,000 open)"),
        ("burst of 500 all in place", before.get("burst_ok"),
         burst.get("ok") if burst else None, "yes"),
    ]  # fmt: skip
    lines = ["", f"targets (before: {before.get('measured', 'not recorded')})"]
    lines.append(f"  {'':<34}{'before':>12}{'now':>10}  target")
    for label, was, now, aim in rows:
        lines.append(f"  {label:<34}{shown(was):>12}{shown(now):>10}  {aim}")
    return lines


def table(results: dict) -> str:
    settings = results["settings"]
    lines = [
        f"throughput: {settings['incidents']} incidents at once, each kind on its own "
        f"({settings['cpus']} CPUs)",
        f"  {'':<24}{'incidents/s':>12}{'events/incident':>17}{'events/s':>10}"
        f"{'done':>10}{'wall':>9}{'vs raw':>8}",
    ]
    for key, name in (
        ("raw", "raw Temporal shape"),
        ("police_to_hotline", "project 110 → 12345"),
        ("hotline_to_police", "project 12345 → 110"),
        ("raw_again", "raw shape, again"),
    ):
        row = results.get(key, {})
        if "incidents" in row:
            ratio = f"{row['ratio_to_raw']:.2f}" if "ratio_to_raw" in row else ""
            lines.append(
                f"  {name:<24}{row['incidents_per_s']:>12.2f}{row['events_per_incident']:>17.0f}"
                f"{row['events_per_s']:>10}{row['completed']:>6}/{row['incidents']:<3}"
                f"{row['seconds']:>8.1f}s{ratio:>8}"
            )
        lines += [f"  {name}:"] * bool(failure_lines(row)) + failure_lines(row)
    if "raw_mean_per_s" in results:
        lines.append(
            f"  vs raw: over the mean of the raw shape's two runs, {results['raw_mean_per_s']}/s"
        )
    for key, name, target in (
        ("police_to_hotline", "110 → 12345", 0.8),
        ("hotline_to_police", "12345 → 110", 0.9),
    ):
        ratio = results.get(key, {}).get("ratio_to_raw")
        if ratio is not None:
            verdict = "meets" if ratio >= target else "below"
            lines.append(f"  project/raw, {name}: {ratio:.2f} ({verdict} the target of {target})")
    rounds = results.get("rounds")
    paths = (("police_to_hotline", "110 → 12345"), ("hotline_to_police", "12345 → 110"))
    if rounds:
        for key, name in paths:
            each = ", ".join(f"{r:.2f}" for r in rounds["ratios"][key])
            median = rounds["median"].get(key)
            lines.append(f"  rounds, {name}: {each}; median {shown(median)}")
    lines += cpu_lines(results)
    for key, name in (("police_to_hotline", "110 → 12345"), ("hotline_to_police", "12345 → 110")):
        lines += profile_lines(name, results.get(key, {}).get("profile"))

    row = results.get("burst", {})
    lines.append("")
    if "reports" in row:
        lines += [
            f"burst: {row['reports']} reports at once ({row['expected_incidents']} distinct, "
            f"{row['repeats']} repeats) — {'OK' if row['ok'] else 'NOT OK'}",
            f"  answered {row['answered']}/{row['reports']}, refused {row['refused']}, "
            f"no answer {row['no_answer']}, answered 'closed' {row['closed_answers']}",
            f"  distinct incidents {row['distinct_incidents']} (want "
            f"{row['expected_incidents']}), new {row['new']}",
            f"  repeats in their original's incident {row['repeats_in_original']}/"
            f"{row['repeats']} (checked {row['repeats_checked']}; matched by "
            f"{row['repeats_matched_by']})",
            f"  wall {row['seconds']:.1f}s; per answered call median "
            f"{seconds(row['latency_p50_s'])}, max {seconds(row['latency_max_s'])}",
        ]
        lines += [f"  misplaced: {m}" for m in row["misplaced"]]
    else:
        lines.append("burst:")
    lines += failure_lines(row, "  ")

    def cli_line(label: str, row: dict | None) -> list[str]:
        if not row:
            return []
        text = f"  {label:<48}{row['median_s']:>7.2f}s median of 5 (min {row['min_s']:.2f}s)"
        if "listed" in row:
            text += f", {row['listed']} listed"
        if row["exit_code"]:
            text += f" — FAILED (exit {row['exit_code']}): {' '.join(row.get('error', []))}"
        return [text]

    row = results.get("cli_burst", {})
    if "processes" in row:
        lines += [
            "",
            f"cli burst: {row['processes']} `linkage divert` processes at once on SQLite — "
            f"{row['landed']} landed, {row['new_incidents']} incidents, {row['seconds']:.1f}s",
        ]
    lines += failure_lines(row, "  ")

    cli = results.get("cli", {})
    lines += ["", "cli (a subprocess each run, as a principal with a token of the bureau's)"]
    for suffix, way in (("", "directly"), ("_api", "through the API")):
        lines += cli_line(f"linkage status (closed), {way}", cli.get("status_closed" + suffix))
        lines += cli_line(f"linkage status (open), {way}", cli.get("status_open" + suffix))
        lines += cli_line(f"linkage list --overdue, {way}", cli.get("list_overdue" + suffix))
    lines += failure_lines(cli, "  ")

    row = results.get("open")
    if row is not None:
        lines += [
            "",
            f"open: {row['incidents']} police pushes left waiting on a worker of their own",
        ]
        if "diverted" in row:
            lines.append(
                f"  diverted {row['diverted']} in {row['divert_seconds']:.1f}s "
                f"({row['diverts_per_s']:.1f}/s); overdue {row.get('overdue')} "
                f"{row.get('overdue_wait_s')}s after the last"
            )
        if "after" in row:
            before, after = row["before"], row["after"]
            lines.append(
                f"  worker RSS {before['rss_mb']} MB before → {after['rss_mb']} MB after "
                f"(peak {after['peak_mb']} MB); past the first tenth "
                f"{row.get('kb_per_incident')} KB per open incident"
            )
        for suffix, way in (("", "directly"), ("_api", "through the API")):
            listed = f"linkage list --overdue ({row.get('overdue')} overdue), {way}"
            lines += cli_line(listed, row.get("list_overdue" + suffix))
            status = row.get("status_overdue" + suffix)
            lines += cli_line(f"linkage status (overdue), {way}", status)
        lines += failure_lines(row, "  ")
    lines += targets(results)
    return "\n".join(lines)
