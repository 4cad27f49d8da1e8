"""Producing a periodic report (月研判 / 季会商 / 年总结): build it from the records database,
write it as HTML, Excel and JSON, and record it in the records (ProducedReport) once per kind,
period and unit, so that `linkage report list` shows what was produced and a schedule's retry
adds nothing.

Out of the package's __init__, so that importing one part of the package (the model's formats,
the Excel writer) does not load the builders, the indicators and the records store with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from linkage.assessment.reports.builders import BUILDERS
from linkage.assessment.reports.html import render_html
from linkage.assessment.reports.model import Report
from linkage.assessment.reports.sections import Builder
from linkage.assessment.scoring import AssessmentTable, load_assessment
from linkage.domain.periods import DISTRICT_TZ, Period
from linkage.domain.time_limits import load_time_limits
from linkage.records.store import Store
from linkage.records.tables import ProducedReport
from linkage.settings.paths import private_file, state_dir


def report_dir() -> Path:
    return state_dir() / "reports"


def build(
    store: Store, period: Period, unit: str = "", table: AssessmentTable | None = None
) -> Report:
    table = table or load_assessment()
    max_returns = load_time_limits().hotline.max_returns
    with store.engine.connect() as conn:
        return BUILDERS[period.kind](Builder(conn, table, max_returns, unit), period)


@dataclass
class Produced:
    report: Report
    files: dict[str, str]
    row: ProducedReport


def _stem(report: Report) -> str:
    unit = f"-{report.unit}" if report.unit else ""
    return f"{report.kind}-{report.period}{unit}"


def produce(
    store: Store,
    period: Period,
    unit: str = "",
    out: Path | None = None,
    produced_by: str = "cli",
) -> Produced:
    """Build the report, write it in every format and record it (again: a report made again
    for the same period replaces its files and its record)."""
    report = build(store, period, unit)
    out = out or report_dir()
    stem = _stem(report)
    files = {  # made 0600 first: the reports name units and cases
        "html": private_file(out / f"{stem}.html"),
        "xlsx": private_file(out / f"{stem}.xlsx"),
        "json": private_file(out / f"{stem}.json"),
    }
    files["html"].write_text(render_html(report), encoding="utf-8")
    from linkage.assessment.reports.excel import write_excel  # openpyxl: 26 MiB, when used

    write_excel(report, files["xlsx"])
    files["json"].write_text(
        json.dumps(report.to_json(), ensure_ascii=False, indent=1, default=_local),
        encoding="utf-8",
    )
    paths = {k: str(v.resolve()) for k, v in files.items()}
    row = record(store, report, paths, produced_by)
    return Produced(report, paths, row)


def _local(value):
    """JSON times in ISO 8601 with the district's offset."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(DISTRICT_TZ).isoformat(timespec="seconds")
    return str(value)


def record(store: Store, report: Report, files: dict[str, str], produced_by: str) -> ProducedReport:
    summary = {k: v for k, v in report.summary.items() if isinstance(v, int | float | str)}
    summary["named_units"] = sorted(set(report.named_units))

    def save(session: Session) -> ProducedReport:
        # made if missing, then locked: the same report recorded at this moment elsewhere (the
        # schedule's run and a person's, or a retry on another worker) is waited for, then
        # replaced, instead of inserted beside it and refused
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        key = {"id": report.id, "kind": report.kind, "period": report.period, "unit": report.unit}
        new = dialect.insert(ProducedReport).values(key | {"files": {}, "summary": {}})
        session.execute(new.on_conflict_do_nothing())
        row = session.get_one(ProducedReport, report.id, with_for_update=True)
        row.assessment_version = report.assessment_version
        row.files, row.summary = files, summary
        row.produced_by, row.produced_at = produced_by, report.produced_at
        session.add(row)
        return row

    return store.write(save)


def list_reports(store: Store, kind: str | None = None, limit: int = 50) -> list[ProducedReport]:
    with Session(store.engine) as session:
        query = select(ProducedReport)
        if kind:
            query = query.where(ProducedReport.kind == kind)
        query = query.order_by(ProducedReport.produced_at.desc()).limit(limit)
        return list(session.exec(query))
