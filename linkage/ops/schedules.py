"""The Temporal Schedules that run the periodic reviews (联席会商机制: 月研判、季会商、年总结), in
the district's time zone; created when missing (`linkage setup`, `linkage up`, `linkage report
schedules`), never changed behind a person's back once there; and backfilled for past periods
on request."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from linkage.domain.periods import DISTRICT_TZ, KIND_LABELS, Period
from linkage.domain.record_inputs import ReportRunInput
from linkage.domain.search_attributes import KIND

SCHEDULE_IDS = {kind: f"linkage-report-{kind}" for kind in KIND_LABELS}
RUN_HOUR = 6  # 06:00 in Asia/Shanghai, once the period has ended
MONTHS = {"monthly": range(1, 13), "quarterly": (1, 4, 7, 10), "annual": (1,)}


def schedule_for(kind: str, task_queue: str) -> Schedule:
    calendar = ScheduleCalendarSpec(
        month=[ScheduleRange(m) for m in MONTHS[kind]],
        day_of_month=[ScheduleRange(1)],
        hour=[ScheduleRange(RUN_HOUR)],
        minute=[ScheduleRange(0)],
        second=[ScheduleRange(0)],
        comment=f"{KIND_LABELS[kind]}: the period that has just ended",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "PeriodicReport",
            ReportRunInput(kind=kind),
            id=f"report-{kind}",
            task_queue=task_queue,
            typed_search_attributes=TypedSearchAttributes([SearchAttributePair(KIND, "report")]),
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=DISTRICT_TZ.key),
        # a missed run (the server was down) is still made once it is back, within a week
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=timedelta(days=7)
        ),
    )


async def ensure_schedules(client: Client, task_queue: str) -> list[str]:
    """Create the schedules that are missing; the ones there are left as they stand."""
    created = []
    for kind, schedule_id in SCHEDULE_IDS.items():
        try:
            await client.create_schedule(schedule_id, schedule_for(kind, task_queue))
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:
            pass
    return created


async def backfill(client: Client, kind: str, first: Period, last: Period) -> list[Period]:
    """Run the schedule for past periods, first to last: each run reviews its own period."""
    if first.start > last.start:
        raise ValueError(f"backfill: {first.label} comes after {last.label}")
    periods, period = [], first
    while period.start <= last.start:
        periods.append(period)
        period = _next(period)
    handle = client.get_schedule_handle(SCHEDULE_IDS[kind])
    # each period's run is due at the start of the period after it
    await handle.backfill(
        ScheduleBackfill(
            start_at=periods[0].end - timedelta(minutes=1),
            end_at=periods[-1].end + timedelta(hours=RUN_HOUR, minutes=1),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
    )
    return periods


def _next(period: Period) -> Period:
    probe = period.end + timedelta(hours=1)
    return Period.containing(period.kind, probe)
