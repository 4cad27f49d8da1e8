"""The paths of the two loops: each way across, disputes, send-backs, returns, rejected
feedback, a dissatisfied citizen, and a deadline missed and then met.

Each drives one incident (or two) from the push to its close, the way the tests do, so that
the histories saved cover every branch a loop and its negotiation can take.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from histories.steps import Paths, finish_hotline, wait_for_emergency, wait_for_whistle
from tests.conftest import open_incident, started_loop
from tests.parties import (
    BUREAU,
    CENTRE,
    CITY_MGMT,
    STATION,
    TOWNSHIP,
    WATER,
    as_,
    divert_to_hotline,
    handle_order,
    police_loop,
    reply_and_close,
)

PATHS = Paths()
path = PATHS.path


@path("police_to_hotline")
async def police_to_hotline(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    return [iid]


@path("hotline_to_police")
async def hotline_to_police(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await police_loop(client, iid)
    return [iid]


# dispute_settled (one side's settle took effect) was saved before a settlement needed both
# sides; its files stay in tests/histories and replay the old branch of SETTLE_BY_BOTH.


@path("dispute_settled_by_both")
async def dispute_settled_by_both(env, client):
    """One side's word is a proposal; the settlement is the two sides agreeing."""
    iid = await open_incident(env, client, "police")
    await client.act(iid, "review", as_(BUREAU))
    await client.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    await client.act(iid, "settle", as_(CENTRE, owner="police"))
    await client.act(iid, "settle", as_(BUREAU, owner="hotline"))
    await client.act(iid, "settle", as_(BUREAU, owner="police", note="协商由派出所处置"))
    await police_loop(client, iid)
    return [iid]


@path("dispute_decided_by_arbiter")
async def dispute_decided_by_arbiter(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "review", as_(BUREAU))
    await client.act(iid, "dispute", as_(CENTRE, reason="涉及打架，属治安案件"))
    await client.act(iid, "settle", as_(BUREAU, owner="hotline"))
    desk = {"role": "linkage_desk", "unit": "对接联动专席", "person": "刘主任"}
    await client.act(iid, "settle", as_(desk, owner="joint", note="会同处置"))
    await asyncio.gather(police_loop(client, iid), handle_order(client, iid))
    await finish_hotline(client, iid)
    return [iid]


@path("late_then_met")
async def late_then_met(env, client):
    """A loop's deadline missed (the incident told, overdue) and then met (overdue no more);
    an emergency acknowledgement late, chased at its own interval, then given."""
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=2, minutes=1))  # dispatch missed
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    # feedback that does not hold is rejected before the citizen is replied to
    await client.act(iid, "reject", as_(CENTRE, reason="现场照片显示摊位仍在"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="摊位已清理"))
    await finish_hotline(client, iid)

    other = await open_incident(env, client, "hotline")
    await client.act(other, "accept", as_(BUREAU))
    await client.act(other, "emergency-linkage", as_(BUREAU, units=["120"]))
    await wait_for_emergency(client, other)
    emergency = client.client.get_workflow_handle(f"{other}.emergency-1")
    await env.fast_forward(emergency, timedelta(minutes=26))  # late, chased twice
    await client.act(other, "acknowledge", as_({"role": "emergency_unit", "unit": "120"}))
    await police_loop(client, other)
    return [iid, other]


@path("dispute_unsettled")
async def dispute_unsettled(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "dispute", as_(BUREAU, reason="属物业纠纷，非警务"))
    # the negotiation deadline passes: the first receiver (12345) handles it
    await env.fast_forward(client.client.get_workflow_handle(iid), timedelta(hours=4, seconds=1))
    await handle_order(client, iid)
    await finish_hotline(client, iid, "basically_satisfied")
    return [iid]


@path("send_back_resubmit")
async def send_back_resubmit(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "send-back", as_(BUREAU, reason="推送原因不清，请补充先期处置情况"))
    await client.act(
        iid, "resubmit", as_(STATION, divert_reason="民警已到场，无治安违法，属城管职责")
    )
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    return [iid]


@path("send_back_withdraw")
async def send_back_withdraw(env, client):
    iid = await open_incident(env, client, "police")
    await client.act(iid, "send-back", as_(BUREAU, reason="属治安案件，不应分流"))
    await client.act(iid, "withdraw", as_(STATION))
    return [iid]


@path("return_redispatch")
async def return_redispatch(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    for unit in (TOWNSHIP, WATER):
        await client.act(iid, "dispatch", as_(CENTRE, unit=unit["unit"]))
        await client.act(iid, "return", as_(unit, reason="不属于本单位职责"))
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await finish_hotline(client, iid)
    # the return limit blew the whistle by rule; the incident closes once the whistle does
    await wait_for_whistle(client, iid)
    await client.act(iid, "close-whistle", as_(CENTRE, note="职责已明确，由区城管局承办"))
    return [iid]


@path("rejected_close")
async def rejected_close(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await client.act(iid, "reply", as_(CENTRE, message="已处理"))
    await client.act(iid, "reject", as_(CENTRE, reason="反馈内容不实"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="再次到场，已彻底清理"))
    await finish_hotline(client, iid)
    return [iid]


@path("dissatisfied_reopen")
async def dissatisfied_reopen(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await handle_order(client, iid)
    await reply_and_close(client, iid)
    await client.act(iid, "revisit", as_(CENTRE, outcome="dissatisfied"))
    await client.act(iid, "feedback", as_(CITY_MGMT, result="重新处理"))
    await finish_hotline(client, iid, "dissatisfied")
    return [iid]
