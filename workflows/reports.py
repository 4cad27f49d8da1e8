"""PeriodicReport: the review a Temporal Schedule runs (月研判 on the 1st, 季会商 each quarter,
年总结 each year, in Asia/Shanghai).

It reviews the period that ended before its scheduled time: the schedule's nominal time, which
a backfilled run carries too, so backfilling September produces September's review. One
activity writes the report, records it and puts the 通报 in the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.reports import ReportActivities
    from linkage.domain.periods import Period
    from linkage.domain.record_inputs import ProduceReportInput, ProduceReportResult, ReportRunInput

from workflows.contracts import slow_queue

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class PeriodicReport:
    @workflow.run
    async def run(self, input: ReportRunInput) -> ProduceReportResult:
        if input.period:
            period = Period.parse(input.kind, input.period)
        else:
            period = Period.before(input.kind, self._scheduled_at())
        return await workflow.execute_activity_method(
            ReportActivities.produce_report,
            ProduceReportInput(
                kind=input.kind,
                period=period.label,
                unit=input.unit,
                produced_by=workflow.info().workflow_id,
            ),
            task_queue=slow_queue(workflow.info().task_queue),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10),
            summary=f"{input.kind} {period.label}",
        )

    def _scheduled_at(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        return scheduled or workflow.now()
