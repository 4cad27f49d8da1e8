"""The police loop: command, arrival and feedback deadlines, and who may act."""

from datetime import timedelta

import pytest

from linkage.client import ActionRefused
from tests.conftest import open_incident, started_loop
from tests.parties import BUREAU, CENTRE, CITY_MGMT, STATION, as_


async def police_incident(env, linkage, **overrides) -> str:
    iid = await open_incident(env, linkage, "hotline", **overrides)
    await linkage.act(iid, "accept", as_(BUREAU))
    return iid


async def test_only_the_commanded_unit_acts_and_only_in_its_step(env, linkage):
    iid = await police_incident(env, linkage)
    with pytest.raises(ActionRefused, match="is at 指令 \\(command\\); this action needs 处置"):
        await linkage.act(iid, "feedback", as_(STATION, result="已处理"))
    with pytest.raises(ActionRefused, match="for police_bureau, not command_center"):
        await linkage.act(iid, "command", as_(CENTRE, unit="黄埭派出所"))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    with pytest.raises(ActionRefused, match="has not reported arrival"):
        await linkage.act(iid, "feedback", as_(STATION, result="已处理"))
    other = {"role": "police_unit", "unit": "渭塘派出所"}
    with pytest.raises(ActionRefused, match="commanded to 黄埭派出所, not to 渭塘派出所"):
        await linkage.act(iid, "arrive", as_(other))
    # feedback from a 12345 unit is routed to the 12345 loop, which this incident does not have
    with pytest.raises(ActionRefused, match="no hotline loop running"):
        await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await linkage.act(iid, "arrive", as_(STATION))
    with pytest.raises(ActionRefused, match="already reported arrival"):
        await linkage.act(iid, "arrive", as_(STATION))


async def test_late_arrival_is_supervised_and_counts_against_the_unit(env, linkage, store):
    iid = await police_incident(env, linkage, urgency="urgent")
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    handle = await started_loop(env, iid, "police")
    await env.fast_forward(handle, timedelta(minutes=21))  # urgent: arrive within 20 minutes
    state = (await linkage.status(iid)).police
    assert state.arrive_missed and state.overdue and not state.feedback_missed
    assert [e.action for e in state.timeline].count("supervise") == 1
    await linkage.act(iid, "arrive", as_(STATION))
    await linkage.act(iid, "feedback", as_(STATION, result="到场调解完毕"))
    summary = await linkage.result(iid)
    assert summary.police.completed and not summary.police.on_time
    assessment = summary.assessments[0]
    assert assessment.assessor == "police_bureau" and not assessment.on_time


async def test_command_not_given_in_time_is_supervised(env, linkage):
    iid = await police_incident(env, linkage)
    await env.fast_forward(await started_loop(env, iid, "police"), timedelta(minutes=16))
    state = (await linkage.status(iid)).police
    assert state.step.value == "command" and state.overdue
    assert "supervise" in [e.action for e in state.timeline]


async def test_missed_feedback_is_supervised_at_most_the_configured_times(env, linkage):
    iid = await police_incident(env, linkage)
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    await env.fast_forward(await started_loop(env, iid, "police"), timedelta(hours=24 * 5))
    state = (await linkage.status(iid)).police
    assert state.feedback_missed
    notes = [e.note for e in state.timeline if e.action == "supervise"]
    assert len(notes) == 3 and "上限" in notes[-1]  # [supervision] max_times = 3
