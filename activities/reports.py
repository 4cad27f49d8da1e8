"""The report activity: build the period's review, write its files, record it, and put a 通报
in the outbox for each unit it names (the 黑榜 and the 约谈 list), keyed so a retry sends none
twice."""

from __future__ import annotations

from temporalio import activity

from linkage.assessment.reports import produce as reports
from linkage.domain.periods import KIND_LABELS, Period
from linkage.domain.record_inputs import OutboxEntry, ProduceReportInput, ProduceReportResult
from linkage.records.store import Store


class ReportActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn
    def produce_report(self, input: ProduceReportInput) -> ProduceReportResult:
        period = Period.parse(input.kind, input.period)
        made = reports.produce(self.store, period, unit=input.unit, produced_by=input.produced_by)
        notices = []
        police = {r["key"] for t in made.report.tables if t.key == "units_110" for r in t.rows}
        for unit in sorted(set(made.report.named_units)):
            key = f"notice:{made.report.kind}:{made.report.period}:{unit}"  # one per unit
            self.store.enqueue(
                OutboxEntry(
                    key=key,
                    target="police" if unit in police or "公安" in unit else "hotline",
                    kind="notice",
                    incident_id=made.report.id,
                    payload={
                        "kind": "通报",
                        "report": made.report.id,
                        "title": made.report.title,
                        "unit": unit,
                        "reasons": _reasons(made.report, unit),
                        "files": made.files,
                    },
                )
            )
            notices.append(key)
        activity.logger.info("report %s produced; %d notices", made.report.id, len(notices))
        return ProduceReportResult(id=made.report.id, files=made.files, notices=notices)


def _reasons(report: reports.Report, unit: str) -> list[str]:
    found = []
    for table in report.tables:
        for row in table.rows:
            ranked = table.key in ("units_12345", "units_110") and row.get("key") == unit
            if ranked and row.get("list") == "黑榜":
                found.append(f"{KIND_LABELS[report.kind]}黑榜 第 {row['rank']} 名")
            if table.key == "interview" and row.get("unit") == unit:
                found.append(f"约谈提醒: {row['reasons']}")
    return found
