"""The paths past a loop's own steps: supervision of a missed deadline, a whistle (双哨联处),
emergency and police linkages, and a police push to 12345 the bureau approves.
"""

from __future__ import annotations

from datetime import timedelta

from histories.steps import Paths, finish_hotline, wait_for_emergency, wait_for_whistle
from tests.conftest import eventually, open_incident, started_loop
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
)

PATHS = Paths()
path = PATHS.path


@path("missed_deadline_supervised")
async def missed_deadline_supervised(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=119))  # two reminders
    await env.fast_forward(handle, timedelta(hours=1, minutes=1))  # missed: supervised
    await env.fast_forward(handle, timedelta(hours=24))  # supervised again
    await client.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await finish_hotline(client, iid)
    return [iid]


@path("whistle")
async def whistle(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    call = {
        "actor": CENTRE,
        "reason": "多次重复报警，群众情绪激动",
        "units": [CITY_MGMT["unit"], TOWNSHIP["unit"], WATER["unit"]],
        "deadline_hours": 1,
    }
    await client.whistle(iid, call)
    await wait_for_whistle(client, iid)
    await client.act(iid, "report-in", as_(CITY_MGMT, note="科长带队到场"))
    await client.act(iid, "report-in", as_(TOWNSHIP))
    await client.act(iid, "whistle-plan", as_(CENTRE, note="城管清理摊位，镇政府安置摊贩"))
    await client.act(iid, "whistle-handle", as_(TOWNSHIP, note="已在菜市场内安排临时摊位"))
    # 区水务局 misses the report-in deadline, then reports in late
    whistle_wf = client.client.get_workflow_handle(f"{iid}.whistle-1")
    await env.fast_forward(whistle_wf, timedelta(hours=1, minutes=1))
    await client.act(iid, "report-in", as_(WATER))
    await handle_order(client, iid)
    await finish_hotline(client, iid)
    await client.act(iid, "close-whistle", as_(CENTRE, note="联合处置完毕"))
    return [iid]


@path("emergency_linkage")
async def emergency_linkage(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await client.act(
        iid, "emergency-linkage", as_(BUREAU, units=["119", "120"], note="现场有人受伤")
    )
    await wait_for_emergency(client, iid)
    for code in ("119", "120"):
        responder = {"role": "emergency_unit", "unit": code}
        await client.act(iid, "acknowledge", as_(responder, note="已出动"))
    await police_loop(client, iid)
    return [iid]


@path("police_linkage")
async def police_linkage(env, client):
    iid = await open_incident(env, client, "police")
    await divert_to_hotline(client, iid)
    await client.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await client.act(iid, "sign", as_(CITY_MGMT))
    await client.act(iid, "police-linkage", as_(CITY_MGMT, reason="执法受阻，摊贩扬言动手"))
    await started_loop(env, iid, "police")
    await police_loop(client, iid)
    await client.act(iid, "feedback", as_(CITY_MGMT, result="在民警配合下完成清理"))
    await finish_hotline(client, iid)
    return [iid]


@path("police_push_approved")
async def police_push_approved(env, client):
    iid = await open_incident(env, client, "hotline")
    await client.act(iid, "accept", as_(BUREAU))
    await client.act(iid, "command", as_(BUREAU, unit=STATION["unit"]))
    await client.act(iid, "arrive", as_(STATION))
    reason = "现场核实为物业纠纷，不构成治安案件，需住建部门处理"
    await client.act(iid, "push-to-bureau", as_(STATION, reason=reason))

    async def pending() -> None:
        assert (await client.status(iid)).incident.police_push_pending is not None

    await eventually(pending, seconds=15)
    await client.act(iid, "approve-push", as_(BUREAU))
    await handle_order(client, iid, unit=CITY_MGMT)
    await client.act(iid, "feedback", as_(STATION, result="已移交12345，现场无治安问题"))
    await finish_hotline(client, iid)
    return [iid]
