"""The incident as a whole: review, negotiation, ownership, both loops, pushes and summaries."""

import asyncio
from datetime import timedelta

import pytest

from linkage.client import ActionRefused
from linkage.domain.models import Owner, Satisfaction, Stage
from linkage.records.tables import Incident, OutboxMessage, PoliceCase, StepEvent, WorkOrder
from tests.conftest import eventually, history_length, open_incident, own_worker
from tests.parties import (
    BUREAU,
    CENTRE,
    CITY_MGMT,
    STATION,
    as_,
    divert_to_hotline,
    handle_order,
    police_loop,
    reply_and_close,
)


async def test_police_to_hotline_happy_path(env, linkage, store):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))

    summary = await linkage.result(iid)
    assert summary.stage is Stage.closed
    assert summary.owner is Owner.hotline
    assert summary.police is None
    assert summary.hotline.satisfaction is Satisfaction.satisfied
    assert summary.hotline.on_time and summary.hotline.completed
    assert [a.assessor for a in summary.assessments] == ["command_center"]
    steps = [(e.loop, e.action) for e in summary.timeline]
    for expected in [
        ("incident", "approve"),
        ("incident", "accept"),
        ("hotline", "accept"),
        ("hotline", "dispatch"),
        ("hotline", "sign"),
        ("hotline", "feedback"),
        ("hotline", "reply"),
        ("hotline", "close"),
        ("hotline", "satisfied"),
    ]:
        assert expected in steps

    # 双推送: the incident went to 12345, the reply to the citizen and to police, the result
    # back to police; every one is in the outbox under its idempotency key.
    kinds = {(m.target, m.kind) for m in store.outbox(limit=1000) if m.incident_id == iid}
    assert kinds == {
        ("hotline", "incident"),
        ("sms", "reply"),
        ("police", "reply"),
        ("police", "result"),
    }
    # The records: the incident, the work order and every step event are written.
    incident = store.get(Incident, iid)
    assert incident.stage == "closed" and incident.owner == "hotline"
    order = store.get(WorkOrder, f"GD-{iid.removeprefix('police-')}")
    assert order.completed and order.on_time and order.satisfaction == "satisfied"
    assert len(store.timeline(iid)) == len(summary.timeline)
    assert {e.action for e in store.timeline(iid)} >= {"approve", "dispatch", "satisfied"}
    assert await history_length(env, iid) < 80
    assert await history_length(env, f"{iid}.hotline") < 90


async def test_hotline_to_police_happy_path(env, linkage, store):
    iid = await open_incident(env, linkage, "hotline")
    state = await linkage.act(iid, "accept", as_(BUREAU))
    assert state.owner is Owner.police
    await police_loop(linkage, iid)

    summary = await linkage.result(iid)
    assert summary.stage is Stage.closed and summary.owner is Owner.police
    assert summary.police.on_time and summary.police.unit == "pcs.huangdai"
    assert [a.assessor for a in summary.assessments] == ["police_bureau"]
    kinds = {(m.target, m.kind) for m in store.outbox(limit=1000) if m.incident_id == iid}
    assert kinds == {("police", "incident"), ("hotline", "result")}
    case = store.get(PoliceCase, iid.removeprefix("hotline-").join(["JQ-", ""]))
    assert case.completed and case.on_time and case.unit == "pcs.huangdai"


async def test_send_back_then_resubmit(env, linkage):
    iid = await open_incident(env, linkage, "police")
    with pytest.raises(ActionRefused, match="needs a reason"):
        await linkage.act(iid, "send-back", as_(BUREAU))
    state = await linkage.act(
        iid, "send-back", as_(BUREAU, reason="推送原因不清，请补充先期处置情况")
    )
    assert state.stage is Stage.sent_back
    with pytest.raises(ActionRefused, match="divert_reason"):
        await linkage.act(iid, "resubmit", as_(STATION))
    state = await linkage.act(
        iid, "resubmit", as_(STATION, divert_reason="民警已到场，无治安违法，属城管职责")
    )
    assert state.stage is Stage.sending_review
    assert state.divert_reason == "民警已到场，无治安违法，属城管职责"
    state = await linkage.act(iid, "review", as_(BUREAU))
    assert state.stage is Stage.receiving_review


async def test_send_back_then_withdraw_keeps_it_with_police(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件，不应分流"))
    await linkage.act(iid, "withdraw", as_(STATION))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.withdrawn and summary.owner is None
    assert summary.police is None and summary.hotline is None


async def test_sent_back_and_never_resubmitted_stays_with_police(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "send-back", as_(BUREAU, reason="请补充材料"))
    await env.fast_forward(linkage.client.get_workflow_handle(iid), timedelta(hours=25))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.withdrawn
    assert ("incident", "expired") in [(e.loop, e.action) for e in summary.timeline]


async def test_dispute_settled_in_negotiation(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "review", as_(BUREAU))
    with pytest.raises(ActionRefused, match="needs a reason"):
        await linkage.act(iid, "dispute", as_(CENTRE))
    state = await linkage.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    assert state.stage is Stage.negotiation and state.dispute_reason == "涉及打架，属治安案件"
    with pytest.raises(ActionRefused, match="police_bureau or command_center"):
        await linkage.act(iid, "settle", as_(CITY_MGMT, owner="hotline"))
    # One side's word alone, in its own favour or not, is a proposal: nothing is settled.
    state = await linkage.act(iid, "settle", as_(CENTRE, owner="police", note="属治安案件"))
    assert state.owner is None and state.stage is Stage.negotiation
    assert state.proposals == {"hotline": "police"}
    with pytest.raises(ActionRefused, match="has proposed owner police already"):
        await linkage.act(iid, "settle", as_(CENTRE, owner="police"))
    state = await linkage.act(iid, "settle", as_(BUREAU, owner="hotline"))
    assert state.owner is None and state.proposals == {"hotline": "police", "police": "hotline"}
    state = await linkage.act(iid, "settle", as_(BUREAU, owner="police", note="协商由派出所处置"))
    assert state.owner is Owner.police and state.stage is Stage.handling
    assert not state.timeline  # an answer is small: the timeline is the state query's
    state = (await linkage.status(iid)).incident
    assert [e.action for e in state.timeline if e.step == "negotiation"] == [
        "enter",
        "propose",
        "propose",
        "settle",
    ]
    await police_loop(linkage, iid)
    summary = await linkage.result(iid)
    assert summary.owner is Owner.police and not summary.first_receiver_handles
    assert summary.police is not None and summary.hotline is None


async def test_an_arbiter_above_both_sides_settles_alone(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "review", as_(BUREAU))
    await linkage.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    desk = {"role": "linkage_desk", "unit": "对接联动专席", "person": "刘主任"}
    state = await linkage.act(iid, "settle", as_(desk, owner="joint", note="会同处置"))
    assert state.owner is Owner.joint and state.stage is Stage.handling
    state = (await linkage.status(iid)).incident  # (the timeline is the state query's)
    assert "decide" in [e.action for e in state.timeline if e.step == "negotiation"]


async def test_unsettled_dispute_goes_to_the_first_receiver(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "dispute", as_(BUREAU, reason="属物业纠纷，非警务"))
    handle = linkage.client.get_workflow_handle(iid)
    await env.fast_forward(handle, timedelta(hours=4, seconds=1))
    status = await linkage.status(iid)
    assert status.incident.first_receiver_handles
    assert status.incident.owner is Owner.hotline  # 12345 received the call first
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="basically_satisfied"))
    summary = await linkage.result(iid)
    assert summary.first_receiver_handles and summary.owner is Owner.hotline
    assert "first_receiver_handles" in [e.action for e in summary.timeline]


async def test_receiving_review_not_done_in_time_counts_as_accepted(env, linkage, store):
    iid = await open_incident(env, linkage, "hotline")
    await env.fast_forward(linkage.client.get_workflow_handle(iid), timedelta(hours=2, seconds=1))
    status = await linkage.status(iid)
    # Settled by the rule, so nothing is late now; the records keep that the review was late.
    assert status.incident.owner is Owner.police and not status.incident.overdue
    assert "auto_accept" in [e.action for e in status.incident.timeline]
    assert store.get(Incident, iid).overdue


async def test_joint_handling_runs_both_loops(env, linkage):
    iid = await open_incident(env, linkage, "police", joint=True)
    state = await linkage.act(iid, "review", as_(BUREAU))
    state = await linkage.act(iid, "accept", as_(CENTRE))
    assert state.owner is Owner.joint
    await asyncio.gather(police_loop(linkage, iid), handle_order(linkage, iid))
    status = await linkage.status(iid)
    assert status.stage is Stage.handling  # the 12345 loop is still open
    assert status.hotline is not None
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.owner is Owner.joint
    assert {a.loop for a in summary.assessments} == {"police", "hotline"}
    assert summary.police.completed and summary.hotline.completed


async def test_the_same_push_sent_again_is_one_report_of_one_workflow(env, linkage, store):
    from tests.conftest import make_report

    report = make_report("police")
    with env.with_time_skipping_disabled():
        first, second = await asyncio.gather(linkage.divert(report), linkage.divert(report))
        third = await linkage.divert(report)
    assert first.incident_id == second.incident_id == third.incident_id
    assert sorted([first.new, second.new]) == [False, True] and not third.new
    assert third.resent and third.reports == 1

    status = await linkage.status(first.incident_id)
    assert status.incident.pushes == 1  # re-sends are answered, not counted
    # once the incident has opened, a re-send is refused by the validator: no history event
    assert sum(e.action == "resent" for e in status.incident.timeline) <= 1
    events = await history_length(env, first.incident_id)
    assert (await linkage.divert(report)).resent
    assert await history_length(env, first.incident_id) == events

    def recorded() -> None:
        assert store.get(Incident, first.incident_id).pushes == 1

    await eventually(recorded)
    runs = [wf async for wf in linkage.client.list_workflows(f"WorkflowId = '{first.incident_id}'")]
    assert len(runs) <= 1  # visibility may lag, but there is never a second run


async def test_a_push_of_a_closed_incident_starts_nothing(env, linkage):
    from tests.conftest import make_report

    report = make_report("police")
    with env.with_time_skipping_disabled():
        iid = (await linkage.divert(report)).incident_id
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    await linkage.act(iid, "withdraw", as_(STATION))
    await linkage.result(iid)
    again = await linkage.divert(report)
    assert again.closed and not again.new and again.incident_id == iid


async def test_actions_after_close_are_refused_clearly(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await police_loop(linkage, iid)
    await linkage.result(iid)
    with pytest.raises(ActionRefused, match="already 已办结"):
        await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    with pytest.raises(ActionRefused, match="incident"):
        await linkage.act(iid, "accept", as_(BUREAU))


async def test_a_new_worker_finishes_what_a_stopped_one_began(env, store):
    queue = "linkage-restart"
    async with own_worker(env, store, queue) as client:
        iid = await open_incident(env, client, "police")
        await divert_to_hotline(client, iid)
        await client.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    # The first worker is gone mid-incident; a new one picks the incident up where it stood.
    async with own_worker(env, store, queue) as client:
        await client.act(iid, "sign", as_(CITY_MGMT))
        await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
        await reply_and_close(client, iid)
        await client.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
        summary = await client.result(iid)
    assert summary.stage is Stage.closed
    assert summary.hotline.satisfaction is Satisfaction.satisfied
    # Every step event was written once, whichever worker wrote it.
    ids = [e.id for e in store.timeline(iid)]
    assert len(ids) == len(set(ids)) == len(summary.timeline)


async def test_records_hold_every_step_and_each_message_once(env, linkage, store):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await police_loop(linkage, iid)
    summary = await linkage.result(iid)
    events = store.timeline(iid)
    assert [(e.loop, e.action) for e in events] == [(e.loop, e.action) for e in summary.timeline]
    assert all(isinstance(e, StepEvent) for e in events)
    keys = [m.id for m in store.outbox(limit=1000) if m.incident_id == iid]
    assert sorted(keys) == sorted({f"{iid}:incident", f"{iid}:result"})
    assert all(store.get(OutboxMessage, k).status == "pending" for k in keys)


async def test_a_push_is_decided_once(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    first, second = await asyncio.gather(
        linkage.act(iid, "accept", as_(BUREAU)),
        linkage.act(iid, "dispute", as_(BUREAU, reason="不属警务")),
        return_exceptions=True,
    )
    outcomes = [first, second]
    refused = [o for o in outcomes if isinstance(o, ActionRefused)]
    assert len(refused) == 1
    assert "already been" in str(refused[0]) or "needs 接收审核" in str(refused[0])
