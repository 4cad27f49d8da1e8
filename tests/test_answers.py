"""An action answers with the state it led to; a decision is taken once; a command sent again
with its request ID is applied once."""

import asyncio

import pytest

from linkage.client import ActionRefused
from linkage.domain.models import Owner, Stage
from tests.conftest import open_incident
from tests.parties import (
    BUREAU,
    CENTRE,
    CITY_MGMT,
    STATION,
    as_,
    divert_to_hotline,
    handle_order,
    reply_and_close,
)


def stage(state) -> str:
    return state.stage.value


async def test_each_incident_action_answers_with_the_stage_it_led_to(env, linkage):
    iid = await open_incident(env, linkage, "police")
    assert stage(await linkage.act(iid, "send-back", as_(BUREAU, reason="原因不清"))) == "sent_back"
    again = await linkage.act(iid, "resubmit", as_(STATION, divert_reason="占道经营，属城管职责"))
    assert stage(again) == "sending_review" and again.divert_reason.startswith("占道经营")
    assert stage(await linkage.act(iid, "review", as_(BUREAU))) == "receiving_review"
    disputed = await linkage.act(iid, "dispute", as_(CENTRE, reason="属治安问题"))
    assert stage(disputed) == "negotiation" and disputed.dispute_reason == "属治安问题"
    proposed = await linkage.act(iid, "settle", as_(BUREAU, owner="hotline"))
    assert stage(proposed) == "negotiation" and proposed.proposals == {"police": "hotline"}
    settled = await linkage.act(iid, "settle", as_(CENTRE, owner="hotline"))
    assert stage(settled) == "handling" and settled.hotline_workflow_id  # the loop is started


async def test_withdraw_answers_withdrawn_and_accept_answers_handling(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    assert stage(await linkage.act(iid, "withdraw", as_(STATION))) == "withdrawn"

    other = await open_incident(env, linkage, "hotline")
    accepted = await linkage.act(other, "accept", as_(BUREAU))
    assert stage(accepted) == "handling" and accepted.owner is Owner.police
    assert accepted.police_workflow_id


async def test_each_loop_action_answers_with_its_step_and_the_last_with_the_incident(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    steps = [
        ("dispatch", CENTRE, {"unit": CITY_MGMT["unit"]}, "sign"),
        ("return", CITY_MGMT, {"reason": "不属本单位职责"}, "dispatch"),
        ("dispatch", CENTRE, {"unit": CITY_MGMT["unit"]}, "sign"),
        ("sign", CITY_MGMT, {}, "handle"),
        ("feedback", CITY_MGMT, {"result": "已清理"}, "reply"),
        ("reply", CENTRE, {"message": "已处理"}, "close"),
        ("reject", CENTRE, {"reason": "照片不清"}, "handle"),
        ("feedback", CITY_MGMT, {"result": "已清理，附照片"}, "reply"),
        ("reply", CENTRE, {"message": "已处理完毕"}, "close"),
        ("close", CENTRE, {}, "revisit"),
    ]
    for action, actor, fields, step in steps:
        state = await linkage.act(iid, action, as_(actor, **fields))
        assert state.step.value == step, action
    last = await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    assert last.step.value == "done" and last.incident_stage is Stage.closed

    case = await open_incident(env, linkage, "hotline")
    await linkage.act(case, "accept", as_(BUREAU))
    assert (
        await linkage.act(case, "command", as_(BUREAU, unit="黄埭派出所"))
    ).step.value == "handle"
    assert (await linkage.act(case, "arrive", as_(STATION))).arrived
    done = await linkage.act(case, "feedback", as_(STATION, result="已调解"))
    assert done.step.value == "done" and done.incident_stage is Stage.closed


async def test_a_police_push_and_police_linkage_answer_once_the_incident_took_them(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    pushed = await linkage.act(iid, "push-to-bureau", as_(STATION, reason="需城管协同处置"))
    assert pushed.incident_stage is Stage.handling
    assert (await linkage.status(iid)).incident.police_push_pending is not None

    other = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, other)
    await linkage.act(other, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await linkage.act(other, "sign", as_(CITY_MGMT))
    await linkage.act(other, "police-linkage", as_(CITY_MGMT, reason="摊贩扬言动手"))
    state = (await linkage.status(other)).incident
    assert state.owner is Owner.joint and state.police_workflow_id  # no waiting for it


async def test_two_approvals_at_the_same_instant_are_recorded_once(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    await linkage.act(iid, "push-to-bureau", as_(STATION, reason="需城管协同处置"))
    outcomes = await asyncio.gather(
        linkage.act(iid, "approve-push", as_(BUREAU)),
        linkage.act(iid, "approve-push", as_({**BUREAU, "person": "王警官"})),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ActionRefused)]
    assert len(refused) == 1 and "no police push waiting" in str(refused[0])
    state = (await linkage.status(iid)).incident
    assert [e.action for e in state.timeline].count("enter") >= 1
    approvals = [e for e in state.timeline if "分局审核通过" in e.note]
    assert len(approvals) == 1 and state.hotline_workflow_id


async def test_a_command_sent_three_times_with_one_request_id_is_applied_once(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    unreachable = as_(CENTRE, outcome="unreachable", request_id="revisit-call-1")
    states = await asyncio.gather(*(linkage.act(iid, "revisit", unreachable) for _ in range(3)))
    assert {s.revisit_attempts for s in states} == {1}
    assert (await linkage.status(iid)).hotline.revisit_attempts == 1

    # The same again without a request ID is a command of its own each time.
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="unreachable"))
    assert (await linkage.status(iid)).hotline.revisit_attempts == 2


async def test_whistle_and_emergency_linkage_sent_three_times_are_applied_once(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    call = {
        "actor": BUREAU,
        "reason": "群众情绪激动",
        "units": ["黄埭派出所"],
        "request_id": "whistle-1",
    }
    await asyncio.gather(*(linkage.whistle(iid, call) for _ in range(3)))
    link = as_(BUREAU, units=["119", "120"], request_id="emergency-1")
    await asyncio.gather(*(linkage.act(iid, "emergency-linkage", link) for _ in range(3)))

    async def whistled():
        state = (await linkage.status(iid)).incident
        assert state.whistles, "whistle not started yet"
        return state

    from tests.conftest import eventually

    state = await eventually(whistled)
    await asyncio.sleep(0.5)  # the second and third signals, had they counted, are in by now
    state = (await linkage.status(iid)).incident
    assert len(state.whistles) == 1 and len(state.emergencies) == 1


@pytest.mark.parametrize("action", ["accept", "dispute"])
async def test_a_decision_sent_again_with_its_request_id_answers_the_same(env, linkage, action):
    iid = await open_incident(env, linkage, "hotline")
    fields = {"reason": "不属警务"} if action == "dispute" else {}
    decision = as_(BUREAU, request_id=f"{action}-1", **fields)
    first, second = await asyncio.gather(
        linkage.act(iid, action, decision), linkage.act(iid, action, decision)
    )
    assert first.stage == second.stage
    state = (await linkage.status(iid)).incident
    assert [e.action for e in state.timeline].count(action) == 1
