"""Work queues (what waits on a unit) and overdue: one answer from list, status, the incident's
LinkageOverdue and its current details in the Web UI."""

from datetime import timedelta

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from linkage.client import LinkageError
from linkage.domain.search_attributes import OVERDUE
from tests.conftest import eventually, loop_handle, open_incident, started_loop
from tests.parties import (
    BUREAU,
    CENTRE,
    CITY_MGMT,
    STATION,
    TOWNSHIP,
    as_,
    divert_to_hotline,
)


async def queue(linkage, unit: str, **filters) -> list[tuple[str, str]]:
    rows = await linkage.list(unit=unit, limit=10_000, **filters)  # other tests' rows too
    return [(r.incident_id, r.step) for r in rows]


async def test_each_party_sees_what_waits_on_it(env, linkage):
    review = await open_incident(env, linkage, "police")  # the bureau reviews it
    order = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, order)
    await linkage.act(order, "dispatch", as_(CENTRE, unit="黄埭镇政府"))  # the township signs
    case = await open_incident(env, linkage, "hotline")
    await linkage.act(case, "accept", as_(BUREAU))
    await linkage.act(case, "command", as_(BUREAU, unit="黄埭派出所"))  # the station arrives

    bureau = await queue(linkage, "区公安分局")
    assert (review, "推送审核时限") in bureau and order not in [i for i, _ in bureau]
    assert (order, "签收时限") in await queue(linkage, "黄埭镇人民政府")
    assert (case, "到场时限") in await queue(linkage, "黄埭派出所")
    assert order not in [i for i, _ in await queue(linkage, "区城管局")]

    # signing moves the order on: the township now owes the handling, by its deadline
    await linkage.act(order, "sign", as_(TOWNSHIP))
    rows = [
        r for r in await linkage.list(unit="town.huangdai", limit=10_000) if r.incident_id == order
    ]
    assert [r.step for r in rows] == ["处置时限"] and rows[0].loop == "hotline"
    assert rows[0].waiting_on == ["黄埭镇人民政府"] and rows[0].due is not None
    assert not rows[0].overdue

    # once it is fed back, the command centre owes the reply; the township owes nothing
    await linkage.act(order, "feedback", as_(TOWNSHIP, result="已劝离摊贩，恢复通行"))
    assert order not in [i for i, _ in await queue(linkage, "黄埭镇政府")]
    assert (order, "回复时限") in await queue(linkage, "区集成指挥中心")

    # the filters narrow a queue down
    assert (case, "到场时限") in await queue(linkage, "黄埭派出所", safety=True)
    assert review not in [i for i, _ in await queue(linkage, "黄埭派出所", safety=True)]
    assert (review, "推送审核时限") in await queue(linkage, "区公安分局", category="H02")
    assert review not in [i for i, _ in await queue(linkage, "区公安分局", category="P01")]
    with pytest.raises(LinkageError, match="--unit: 黄埭镇政付 is not a unit"):
        await linkage.list(unit="黄埭镇政付")


async def test_list_filters_by_category_safety_and_start_time(env, linkage):
    township = "苏相合作区"  # no other test or the demo opens incidents there
    place = {"address": "苏相合作区东桥路8号", "township": township}
    stall = await open_incident(env, linkage, "police", location=place)
    fight = await open_incident(env, linkage, "hotline", location={**place, "address": "东桥路9号"})

    async def listed(**filters) -> list[str]:
        return sorted(r.incident_id for r in await linkage.list(township=township, **filters))

    async def check():
        assert await listed(category="H02") == [stall]
        assert await listed(category="市容管理") == [stall]
        assert await listed(safety=True) == [fight]
        started = (await linkage.list(township=township))[0].started
        assert await listed(since=started - timedelta(minutes=5)) == sorted([stall, fight])
        assert await listed(until=started - timedelta(minutes=5)) == []

    await eventually(check, seconds=15)
    rows = await linkage.list(township=township, category="H02")
    assert rows[0].step == "推送审核时限" and rows[0].waiting_on == ["区公安分局"]


async def details(handle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def overdue_everywhere(linkage, iid: str, label: str, who: str) -> None:
    """list --overdue, status, LinkageOverdue and the Web UI's current details agree."""

    async def agree():
        late = await linkage.list(overdue=True, running_only=True, limit=1000)
        assert iid in [r.incident_id for r in late]
        status = await linkage.status(iid)
        assert status.incident.overdue and label in [item.label for item in status.incident.late]
        handle = linkage.client.get_workflow_handle(iid)
        assert (await handle.describe()).typed_search_attributes.get(OVERDUE) is True
        shown = await details(handle)
        assert "超时 overdue" in shown and label in shown and who in shown and "督办" in shown

    await eventually(agree, seconds=15)


async def test_a_missed_incident_deadline_is_overdue_everywhere(env, linkage):
    iid = await open_incident(env, linkage, "police")

    async def listed_on_time():  # visibility catches up with a new workflow in a moment
        assert iid in [r.incident_id for r in await linkage.list(running_only=True, limit=1000)]
        assert iid not in [r.incident_id for r in await linkage.list(overdue=True, limit=1000)]

    await eventually(listed_on_time, seconds=15)
    await env.fast_forward(linkage.client.get_workflow_handle(iid), timedelta(hours=2, minutes=1))
    await overdue_everywhere(linkage, iid, "推送审核时限", "区公安分局")
    # met: nothing is late now, everywhere
    await linkage.act(iid, "review", as_(BUREAU))

    async def met():
        assert iid not in [r.incident_id for r in await linkage.list(overdue=True, limit=1000)]
        assert not (await linkage.status(iid)).incident.late

    await eventually(met, seconds=15)


async def test_a_missed_loop_deadline_makes_the_incident_overdue(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    await env.fast_forward(await started_loop(env, iid, "hotline"), timedelta(hours=121))
    await overdue_everywhere(linkage, iid, "处置时限", "区城市管理局")
    rows = [r for r in await linkage.list(unit="区城管局", limit=10_000) if r.incident_id == iid]
    assert rows[0].overdue and rows[0].supervisions >= 1


async def test_a_missed_whistle_report_in_makes_the_incident_overdue(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.whistle(
        iid,
        {"actor": CENTRE, "reason": "群体性事件苗头", "units": ["区城管局"], "deadline_hours": 1},
    )

    async def whistle_started():
        assert (await linkage.status(iid)).whistles

    await eventually(whistle_started)
    await env.fast_forward(loop_handle(env, iid, "whistle-1"), timedelta(hours=1, minutes=1))
    await overdue_everywhere(linkage, iid, "应哨报到时限", "区城市管理局")


async def test_a_missed_acknowledgement_is_chased_in_minutes_and_overdue_everywhere(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "emergency-linkage", as_(BUREAU, units=["120"]))
    emergency = loop_handle(env, iid, "emergency-1")
    await env.fast_forward(emergency, timedelta(minutes=26))
    await overdue_everywhere(linkage, iid, "应急响应确认时限", "区急救中心")
    # routine: acknowledged within 10 minutes, then chased every 15 (not every 24 hours)
    state = await emergency.query("state")
    assert state["deadlines"][0]["supervisions"] == 2


async def test_urgent_reports_get_their_own_limits(env, linkage):
    routine = await open_incident(env, linkage, "hotline")
    urgent = await open_incident(env, linkage, "hotline", urgency="urgent")
    review = {}
    for iid in (routine, urgent):
        status = await linkage.status(iid)
        deadline = next(d for d in status.incident.deadlines if d.name == "receiving_review")
        review[iid] = deadline.at - status.incident.timeline[0].at
    assert review[routine] > timedelta(hours=1, minutes=55)
    assert timedelta(minutes=25) < review[urgent] <= timedelta(minutes=31)
    await linkage.act(urgent, "accept", as_(BUREAU))
    police = await linkage.status(urgent)
    command = next(d for d in police.police.deadlines if d.name == "command")
    assert command.at - police.police.timeline[0].at <= timedelta(minutes=6)


async def test_after_a_return_the_returning_unit_is_not_suggested(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    state = await linkage.act(iid, "dispatch", as_(CENTRE))  # triage's route
    assert state.unit == "dept.cgj"
    state = await linkage.act(iid, "return", as_(CITY_MGMT, reason="不属本单位职责"))
    assert state.step.value == "dispatch" and state.suggested_unit == ""
    assert (await linkage.status(iid)).hotline.suggested_unit == ""


async def test_feedback_can_be_rejected_before_the_citizen_is_replied_to(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    state = await linkage.act(iid, "reject", as_(CENTRE, reason="现场照片显示摊位仍在"))
    assert state.step.value == "handle" and state.reply == ""


async def test_police_station_queue_after_command(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    # the review's clock starts on delivery, with no step of its own: the queue has it at once
    assert (iid, "接收审核时限") in await queue(linkage, "110")
    await linkage.act(iid, "accept", as_(BUREAU))

    async def to_command():  # the police loop, just started, writes what it waits on
        assert (iid, "指令时限") in await queue(linkage, "区公安分局指挥中心")

    await eventually(to_command)
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "arrive", as_(STATION))
    assert (iid, "反馈时限") in await queue(linkage, "黄埭派出所")


async def test_the_bureau_sees_an_overdue_command_its_command_centre_owes(env, linkage, store):
    """The register's hierarchy: 区公安分局指挥中心 is part of 区公安分局, so what the command
    centre owes is in the bureau's queue too; and its supervision counts against the centre."""
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    police = await started_loop(env, iid, "police")
    await env.fast_forward(police, timedelta(hours=1))

    async def overdue_in_the_bureaus_queue():
        rows = [
            r for r in await linkage.list(unit="区公安分局", limit=10_000) if r.incident_id == iid
        ]
        command = [r for r in rows if r.step == "指令时限"]  # (a whistle may follow it)
        assert [(r.overdue, r.waiting_on) for r in command] == [(True, ["区公安分局指挥中心"])]
        overdue = await linkage.list(unit="区公安分局", overdue=True, limit=10_000)
        assert iid in [r.incident_id for r in overdue]

    await eventually(overdue_in_the_bureaus_queue, seconds=15)
    supervised = [e for e in store.timeline(iid) if e.action == "supervise" and e.loop == "police"]
    assert supervised and {e.unit for e in supervised} == {"police.command"}


async def test_a_unit_notified_by_an_emergency_linkage_finds_it_in_its_queue(env, linkage):
    """The linkage starts with nothing but what it waits on to write (no step of its own yet
    before its notices go out): that write is made too, so 120 sees it at once."""
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "emergency-linkage", as_(BUREAU, units=["120"]))

    async def in_its_queue():
        assert (iid, "应急响应确认时限") in await queue(linkage, "120")

    await eventually(in_its_queue, seconds=15)
