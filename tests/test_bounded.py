"""Histories stay small for months: every cycle a person can repeat is bounded by the table, an
action's answer carries no timeline, and the same push sent again costs no history event."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from linkage.client import ActionRefused
from tests.conftest import eventually, history_length, make_report, open_incident, started_loop
from tests.parties import BUREAU, CENTRE, CITY_MGMT, as_, divert_to_hotline


async def test_a_month_of_extensions_and_rejections_stays_bounded(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    loop = await started_loop(env, iid, "hotline")
    for n in range(3):  # the table allows three requests for an extension
        await linkage.act(iid, "extend", as_(CITY_MGMT, hours=24, reason=f"材料未齐 {n}"))
        decision = "approve-extension" if n % 2 else "refuse-extension"
        await linkage.act(iid, decision, as_(CENTRE, note="已审"))
    with pytest.raises(ActionRefused, match="3 extensions, the limit"):
        await linkage.act(iid, "extend", as_(CITY_MGMT, hours=24, reason="再延一次"))
    for n in range(3):  # and three rejections of the feedback
        await linkage.act(iid, "feedback", as_(CITY_MGMT, result=f"已处理 {n}"))
        await linkage.act(iid, "reject", as_(CENTRE, reason=f"未到现场核实 {n}"))
        await env.fast_forward(loop, timedelta(days=8))  # every deadline missed, supervised
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已到现场处理完毕"))
    with pytest.raises(ActionRefused, match="rejected 3 times, the limit"):
        await linkage.act(iid, "reject", as_(CENTRE, reason="还不行"))
    answer = await linkage.act(iid, "reply", as_(CENTRE, message="您反映的问题已处理"))
    assert answer.timeline == []  # an answer is small; the timeline is the state query's
    events = await history_length(env, f"{iid}.hotline")
    assert events < 400, events
    history = await linkage.client.get_workflow_handle(f"{iid}.hotline").fetch_history()
    assert sum(e.ByteSize() for e in history.events) < 200_000


@pytest.mark.timeout(400)  # 2,100 round trips: about a minute on a quiet machine with 2 cores
async def test_the_same_push_2100_times_costs_no_history(env, linkage):
    report = make_report("police")
    with env.with_time_skipping_disabled():
        first = await linkage.divert(report)
    events = await history_length(env, first.incident_id)
    gate = asyncio.Semaphore(20)

    async def again():
        async with gate:
            return await linkage.divert(report)

    answers = await asyncio.gather(*(again() for _ in range(2100)))
    assert all(a.resent and a.incident_id == first.incident_id for a in answers)
    assert await history_length(env, first.incident_id) == events
    done = await linkage.act(first.incident_id, "review", as_(BUREAU))  # still takes actions
    assert done.stage.value == "receiving_review"


async def test_whistles_stop_at_the_tables_limit_by_update_and_by_signal(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    for n in range(10):  # [whistle] max_whistles
        await linkage.whistle(iid, {**as_(BUREAU), "reason": f"风险 {n}", "units": ["区城管局"]})
    with pytest.raises(ActionRefused, match="10 whistles, the limit"):
        await linkage.whistle(iid, {**as_(BUREAU), "reason": "再吹一次", "units": ["区城管局"]})
    # an earlier client's signal is held to the same limit: recorded as refused, nothing started
    await linkage.client.get_workflow_handle(iid).signal(
        "blow_whistle", {"actor": BUREAU, "reason": "信号吹哨", "units": ["区城管局"]}
    )

    async def refused():
        state = (await linkage.status(iid)).incident
        assert len(state.whistles) == 10
        assert [e for e in state.timeline if e.action == "refused" and "信号吹哨" in e.note]

    await eventually(refused)
