"""Escalations: the whistle (双哨), by officer and by rule; police linkage (派警联动)."""

import asyncio
from datetime import timedelta

import pytest

from linkage.client import ActionRefused, LinkageError
from linkage.domain.models import Owner, Stage
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
    reply_and_close,
)

SUMMONED = ["区城管局", "黄埭镇政府", "区水务局"]


async def whistle_state(linkage, iid: str, number: int = 1):
    async def whistle():
        status = await linkage.status(iid)
        assert len(status.whistles) >= number, "whistle not started yet"
        return status.whistles[number - 1]

    return await eventually(whistle)


async def test_a_whistle_summons_units_who_report_in_and_the_officer_closes_it(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.whistle(
        iid,
        {
            "actor": CENTRE,
            "reason": "多次重复报警，群众情绪激动",
            "units": SUMMONED,
            "deadline_hours": 1,
        },
    )
    state = await whistle_state(linkage, iid)
    # summoned by name or alias, kept by the register's code
    assert state.units == ["dept.cgj", "town.huangdai", "dept.swj"]
    assert state.deadlines[0].label == "应哨报到时限"

    with pytest.raises(ActionRefused, match="相城生态环境局 was not summoned by whistle #1"):
        await linkage.act(iid, "report-in", as_({"role": "member_unit", "unit": "区环保局"}))
    await linkage.act(iid, "report-in", as_(CITY_MGMT, note="科长带队到场"))
    with pytest.raises(ActionRefused, match="already reported in"):
        await linkage.act(iid, "report-in", as_(CITY_MGMT))
    await linkage.act(iid, "report-in", as_(TOWNSHIP))
    await linkage.act(iid, "whistle-plan", as_(CENTRE, note="城管清理摊位，镇政府安置摊贩"))
    with pytest.raises(ActionRefused, match="say what was planned"):
        await linkage.act(iid, "whistle-handle", as_(TOWNSHIP))
    await linkage.act(iid, "whistle-handle", as_(TOWNSHIP, note="已在菜市场内安排临时摊位"))

    # 区水务局 misses the deadline: recorded, reminded before, escalated after.
    whistle = env.client.get_workflow_handle(f"{iid}.whistle-1")
    await env.fast_forward(whistle, timedelta(hours=1, minutes=1))
    state = await whistle_state(linkage, iid)
    actions = [e.action for e in state.timeline]
    assert "remind" in actions and "missed" in actions and "supervise" in actions
    assert state.overdue
    await linkage.act(iid, "report-in", as_(WATER))
    assert (await whistle_state(linkage, iid)).late == ["dept.swj"]

    # The loops close, but the incident waits for the whistle.
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    await asyncio.sleep(0.5)
    assert (await linkage.status(iid)).running

    with pytest.raises(ActionRefused, match="closed by whoever blew it"):
        await linkage.act(iid, "close-whistle", as_(BUREAU))
    await linkage.act(iid, "close-whistle", as_(CENTRE, note="联合处置完毕"))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.closed
    (result,) = summary.whistles
    assert result.on_time == ["dept.cgj", "town.huangdai"] and result.late == ["dept.swj"]
    late = [a for a in summary.assessments if a.assessor == "whistle" and not a.on_time]
    assert [a.unit for a in late] == ["dept.swj"]
    assert {"plan", "handling", "report_in"} <= {e.action for e in summary.timeline}


async def test_only_a_duty_officer_blows_the_whistle(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    with pytest.raises(ActionRefused, match="duty officer"):
        await linkage.whistle(iid, {"actor": CITY_MGMT, "reason": "想吹哨", "units": ["区城管局"]})
    with pytest.raises(LinkageError, match="whistle: units: List should have at least 1 item"):
        await linkage.whistle(iid, {"actor": BUREAU, "reason": "风险", "units": []})
    with pytest.raises(ActionRefused, match="no open whistle"):
        await linkage.act(iid, "report-in", as_(CITY_MGMT))
    # A signal sent around the client is recorded as refused, and starts nothing.
    await linkage.client.get_workflow_handle(iid).signal(
        "blow_whistle", {"actor": STATION, "reason": "越权吹哨", "units": ["区城管局"]}
    )

    async def refused():
        state = (await linkage.status(iid)).incident
        assert "refused" in [e.action for e in state.timeline] and state.whistles == []

    await eventually(refused)


async def test_whistled_incidents_are_listed(env, linkage):
    township = "望亭镇"
    iid = await open_incident(
        env, linkage, "hotline", location={"address": "望亭镇问渠路1号", "township": township}
    )
    quiet = await open_incident(
        env, linkage, "hotline", location={"address": "望亭镇问渠路2号", "township": township}
    )
    await linkage.whistle(iid, {"actor": BUREAU, "reason": "群体性苗头", "units": ["望亭镇政府"]})

    async def listed():
        rows = await linkage.list(township=township, whistled=True)
        assert [r.incident_id for r in rows] == [iid] and rows[0].whistled
        assert quiet in [r.incident_id for r in await linkage.list(township=township)]

    await eventually(listed, seconds=15)


async def test_supervision_exhausted_blows_the_whistle_by_rule(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    await env.fast_forward(await started_loop(env, iid, "police"), timedelta(hours=24 * 4))
    state = await whistle_state(linkage, iid)
    assert state.blown_by == "rule:supervision_exhausted"
    assert "督办次数用完仍未办结" in state.reason
    assert state.units == ["hotline.command", "police.bureau", "pcs.huangdai"]
    await linkage.act(iid, "report-in", as_(STATION))
    await linkage.act(iid, "feedback", as_(STATION, result="已调解"))
    with pytest.raises(ActionRefused, match="closed by a duty officer"):
        await linkage.act(iid, "close-whistle", as_(STATION))
    await linkage.act(iid, "close-whistle", as_(BUREAU))
    summary = await linkage.result(iid)
    missed = {a.unit for a in summary.assessments if a.assessor == "whistle" and not a.completed}
    assert missed == {"hotline.command", "police.bureau"}


async def test_police_linkage_runs_the_police_loop_beside_the_12345_loop(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    with pytest.raises(ActionRefused, match="needs 处置"):
        await linkage.act(iid, "police-linkage", as_(CITY_MGMT, reason="摊贩扬言动手"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    with pytest.raises(ActionRefused, match="dispatched to 区城市管理局, not to 区水务局"):
        await linkage.act(iid, "police-linkage", as_(WATER, reason="冲突"))
    await linkage.act(iid, "police-linkage", as_(CITY_MGMT, reason="执法受阻，摊贩扬言动手"))
    await started_loop(env, iid, "police")
    status = await linkage.status(iid)
    assert status.incident.owner is Owner.joint and status.police is not None
    assert status.hotline.step.value == "handle"  # the 12345 loop goes on

    await police_loop(linkage, iid)
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="在民警配合下完成清理"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.owner is Owner.joint
    assert summary.police.completed and summary.hotline.completed
    assert "police_linkage" in [e.action for e in summary.timeline]


def responder(code: str) -> dict:
    return {"role": "emergency_unit", "unit": code}


async def emergency_state(linkage, iid: str):
    async def started():
        status = await linkage.status(iid)
        assert status.emergencies, "emergency linkage not started yet"
        return status.emergencies[0]

    return await eventually(started)


async def test_a_hazard_notifies_the_emergency_units_at_once_beside_police(env, linkage, store):
    iid = await open_incident(
        env,
        linkage,
        "hotline",
        category="抢险抗灾救援",
        urgency="emergency",
        description="小区门口燃气管道破裂，闻到很浓的煤气味",
    )
    await linkage.act(iid, "accept", as_(BUREAU))
    state = await emergency_state(linkage, iid)
    assert list(state.units) == ["119", "emergency", "water", "gas", "power"]

    def notices() -> list:
        sent = [m for m in store.outbox(target="emergency", limit=1000) if m.incident_id == iid]
        assert len(sent) == 5
        return sent

    assert {m.payload["unit_code"] for m in await eventually(notices)} == set(state.units)

    with pytest.raises(ActionRefused, match="for emergency_unit, not member_unit"):
        await linkage.act(iid, "acknowledge", as_(CITY_MGMT))
    with pytest.raises(ActionRefused, match="for emergency_unit, not member_unit"):
        await linkage.act(iid, "acknowledge", as_({"role": "member_unit", "unit": "gas"}))
    with pytest.raises(
        ActionRefused, match="no open emergency linkage that notified 区急救中心 \\(120\\)"
    ):
        await linkage.act(iid, "acknowledge", as_(responder("120")))
    for code in ("119", "gas", "emergency"):
        await linkage.act(iid, "acknowledge", as_(responder(code), note="已出动"))
    with pytest.raises(ActionRefused, match="already acknowledged"):
        await linkage.act(iid, "acknowledge", as_(responder("gas")))

    linkage_wf = env.client.get_workflow_handle(f"{iid}.emergency-1")
    await env.fast_forward(linkage_wf, timedelta(minutes=11))
    state = await emergency_state(linkage, iid)
    actions = [e.action for e in state.timeline]
    assert "unacknowledged" in actions and "supervise" in actions and state.overdue
    for code in ("water", "power"):
        await linkage.act(iid, "acknowledge", as_(responder(code)))

    # a gas leak is a public-facility danger (P06.01): police and 12345's departments together
    await police_loop(linkage, iid)
    await handle_order(linkage, iid, WATER)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.owner.value == "joint" and summary.triage.subcategory.code == "P06.01"
    (result,) = summary.emergencies
    assert set(result.acknowledged) == set(result.units) and result.unacknowledged == []


async def test_a_unit_that_never_acknowledges_is_escalated_to_a_whistle(env, linkage):
    iid = await open_incident(env, linkage, "hotline", category="治安灾害事故")
    await linkage.act(iid, "accept", as_(BUREAU))
    await emergency_state(linkage, iid)
    for code in ("119", "emergency"):
        await linkage.act(iid, "acknowledge", as_(responder(code)))
    await env.fast_forward(
        env.client.get_workflow_handle(f"{iid}.emergency-1"), timedelta(hours=24 * 3)
    )
    whistle = await whistle_state(linkage, iid)
    assert whistle.blown_by == "rule:supervision_exhausted" and "120" in whistle.units
    await police_loop(linkage, iid)
    await linkage.act(iid, "report-in", as_({"role": "member_unit", "unit": "区急救中心"}))
    await linkage.act(iid, "close-whistle", as_(BUREAU))
    summary = await linkage.result(iid)
    assert summary.emergencies[0].unacknowledged == ["120"]


async def test_emergency_linkage_by_an_officer_names_unknown_units(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    with pytest.raises(LinkageError, match="--units: 999 is not a unit"):
        await linkage.act(iid, "emergency-linkage", as_(BUREAU, units=["119", "999"]))
    with pytest.raises(ActionRefused, match="police_bureau or command_center"):
        await linkage.act(iid, "emergency-linkage", as_(STATION, units=["119"]))
    state = await linkage.act(
        iid, "emergency-linkage", as_(BUREAU, units=["119", "120"], note="现场有人受伤")
    )
    assert state.emergencies[0].units == {"119": "区消防救援大队", "120": "区急救中心"}


async def test_police_push_a_case_that_is_not_theirs_to_the_bureau_during_handling(
    env, linkage, store
):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    with pytest.raises(ActionRefused, match="no police push waiting"):
        await linkage.act(iid, "approve-push", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    reason = "现场核实为物业纠纷，不构成治安案件，需住建部门处理"
    await linkage.act(iid, "push-to-bureau", as_(STATION, reason=reason))
    with pytest.raises(ActionRefused, match="already been pushed"):
        await linkage.act(iid, "push-to-bureau", as_(STATION, reason=reason))

    async def pending():
        state = (await linkage.status(iid)).incident
        assert state.police_push_pending is not None
        return state

    assert (await eventually(pending)).police_push_pending.reason == reason
    with pytest.raises(ActionRefused, match="for police_bureau, not command_center"):
        await linkage.act(iid, "approve-push", as_(CENTRE))
    state = await linkage.act(iid, "approve-push", as_(BUREAU))
    assert state.owner is Owner.joint and state.police_push_pending is None

    await handle_order(linkage, iid, unit=CITY_MGMT)
    await linkage.act(iid, "feedback", as_(STATION, result="已移交12345，现场无治安问题"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.owner is Owner.joint
    assert summary.police.completed and summary.hotline.completed
    kinds = {(m.target, m.kind) for m in store.outbox(limit=1000) if m.incident_id == iid}
    assert ("hotline", "incident") in kinds and ("police", "reply") in kinds


async def test_the_bureau_can_keep_a_pushed_case_with_police(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    await linkage.act(iid, "push-to-bureau", as_(STATION, reason="似乎不属于警务"))
    await eventually(lambda: _assert_pending(linkage, iid))
    state = await linkage.act(iid, "refuse-push", as_(BUREAU, reason="涉及人身威胁，属警务"))
    assert state.owner is Owner.police and state.hotline_workflow_id == ""
    await linkage.act(iid, "feedback", as_(STATION, result="已调解"))
    summary = await linkage.result(iid)
    assert summary.hotline is None
    assert "police_push_sent_back" in [e.action for e in summary.timeline]


async def _assert_pending(linkage, iid: str) -> None:
    assert (await linkage.status(iid)).incident.police_push_pending is not None


async def test_the_incident_waits_for_the_bureau_to_review_a_police_push(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    await linkage.act(iid, "push-to-bureau", as_(STATION, reason="需城管部门处理"))
    await linkage.act(iid, "feedback", as_(STATION, result="先期处置完毕"))  # police loop closes
    await eventually(lambda: _assert_pending(linkage, iid))
    await asyncio.sleep(0.3)
    assert (await linkage.status(iid)).stage is Stage.handling  # still waiting for the bureau
    await linkage.act(iid, "approve-push", as_(BUREAU))
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.owner is Owner.joint and summary.hotline.completed


async def test_a_whistle_signal_is_refused_whoever_it_names(env, linkage):
    """A signal can be sent by anyone who reaches Temporal, naming any actor: it is refused
    and recorded (a few times, not without end), and starts nothing; the update is the way."""
    iid = await open_incident(env, linkage, "hotline")
    handle = linkage.client.get_workflow_handle(iid)
    for n in range(15):
        await handle.signal(
            "blow_whistle", {"actor": BUREAU, "reason": f"伪造吹哨 {n}", "units": ["区城管局"]}
        )

    async def refused():
        state = (await linkage.status(iid)).incident
        notes = [e.note for e in state.timeline if e.action == "refused"]
        assert state.whistles == [] and len(notes) == 10, notes
        assert all("吹哨信号不再受理" in note for note in notes)

    await eventually(refused)
    await linkage.whistle(iid, {**as_(BUREAU), "reason": "真实风险", "units": ["区城管局"]})
    assert len((await linkage.status(iid)).incident.whistles) == 1
