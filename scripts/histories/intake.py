"""The paths of what arrives rather than what is acted on: a repeat joining its incident, the
same push again, a caller's harassment case, and a periodic report as a schedule starts it.
"""

from __future__ import annotations

import asyncio

from histories.steps import TASK_QUEUE, Paths, wait_for_whistle
from tests.conftest import make_report
from tests.parties import BUREAU, as_, police_loop

PATHS = Paths()
path = PATHS.path


@path("repeat_joins")
async def repeat_joins(env, client):
    first = make_report("hotline")
    second = make_report("police", caller=first["caller"])  # the same caller, on 110
    with env.with_time_skipping_disabled():
        opened = await client.divert(first)
        joined = await client.divert(second)
    iid = opened.incident_id
    if joined.incident_id != iid or joined.matched_by != "caller":
        raise AssertionError(f"the repeat did not join {iid}: {joined}")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid, f"police-{second['reference']}"]  # the repeat's own incident closes as merged


@path("same_push_again")
async def same_push_again(env, client):
    report = make_report("hotline")
    with env.with_time_skipping_disabled():
        first, second = await asyncio.gather(client.divert(report), client.divert(report))
        third = await client.divert(report)
    iid = first.incident_id
    if not (iid == second.incident_id == third.incident_id and third.resent):
        raise AssertionError(f"the same push made more than one incident: {first, second, third}")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid]


@path("harassment_case")
async def harassment_case(env, client):
    first = make_report("hotline")
    reports = [first] + [make_report("hotline", caller=first["caller"]) for _ in range(7)]
    with env.with_time_skipping_disabled():
        answers = [await client.divert(report) for report in reports]
    case = answers[-1].harassment_case
    if not case:
        raise AssertionError(f"eight reports from one caller opened no case: {answers[-1]}")
    iid = answers[0].incident_id
    await client.act(case, "accept", as_(BUREAU))
    await police_loop(client, case)
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    await wait_for_whistle(client, iid)  # its repeats blew the repeat-reports whistle
    await client.act(iid, "close-whistle", as_(BUREAU))
    # the case, the caller's incident, and the repeat that tipped the rule (it opened the case)
    return [case, iid, f"hotline-{reports[-1]['reference']}"]


@path("periodic_report")
async def periodic_report(env, client):
    """A monthly review (月研判), as a schedule's run makes it, for a month gone by."""
    from linkage.domain.record_inputs import ReportRunInput

    wid = "report-monthly-2026-11"
    run = ReportRunInput(kind="monthly", period="2026-11")
    await client.client.execute_workflow("PeriodicReport", run, id=wid, task_queue=TASK_QUEUE)
    return [wid]
