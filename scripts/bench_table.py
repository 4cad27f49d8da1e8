"""The figures of scripts/bench.py as a table for a person, phase by phase, with each
failure beside the phase it belongs to (--json prints the same figures as they are).
"""

from __future__ import annotations


def failure_lines(row: dict, indent: str = "    ") -> list[str]:
    lines = [f"{indent}FAILED: {row['error']}"] if row.get("error") else []
    for what, times in (row.get("failures") or {}).items():
        lines.append(f"{indent}FAILED x{times}: {what}")
    return lines


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


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
    ratio = results.get("police_to_hotline", {}).get("ratio_to_raw")
    if ratio is not None:
        verdict = "meets" if ratio >= 0.8 else "below"
        lines.append(f"  project/raw, 110 → 12345: {ratio:.2f} ({verdict} the target of 0.8)")

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
        text = f"  {label:<32}{row['median_s']:>7.2f}s median of 5 (min {row['min_s']:.2f}s)"
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
    lines += cli_line("linkage status (closed)", cli.get("status_closed"))
    lines += cli_line("linkage status (open)", cli.get("status_open"))
    lines += cli_line("linkage list --overdue", cli.get("list_overdue"))
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
        lines += cli_line(
            f"linkage list --overdue ({row.get('overdue')} overdue)", row.get("list_overdue")
        )
        lines += cli_line("linkage status (overdue)", row.get("status_overdue"))
        lines += failure_lines(row, "  ")
    return "\n".join(lines)
