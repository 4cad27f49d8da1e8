"""What a supervisor sees in the Web UI: the current details say how an incident ended (closed,
withdrawn, merged), its loops and escalations say they are done, and `LinkageKind` tells
incidents apart from their loops, whistles and emergency linkages."""

from __future__ import annotations

from temporalio.api.sdk.v1 import WorkflowMetadata

from linkage.domain.search_attributes import KIND, UNITS
from tests.conftest import eventually, make_report, open_incident, police_handles_a_12345_push
from tests.parties import BUREAU, CENTRE, STATION, as_


async def details(linkage, workflow_id: str) -> str:
    handle = linkage.client.get_workflow_handle(workflow_id)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_a_closed_incident_and_its_loop_say_so(env, linkage):
    iid, summary = await police_handles_a_12345_push(env, linkage)
    assert summary.stage.value == "closed"
    shown = await details(linkage, iid)
    assert shown.startswith("**已办结 closed**") and "处置中" not in shown, shown
    loop = await details(linkage, f"{iid}.police")
    assert "已反馈 (done)" in loop and "黄埭派出所" in loop and "pcs." not in loop, loop


async def test_a_withdrawn_incident_says_so(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    await linkage.act(iid, "withdraw", as_(STATION))
    await linkage.result(iid)
    shown = await details(linkage, iid)
    assert shown.startswith("**已撤回 withdrawn**") and "退回补正 (sent_back)" not in shown, shown


async def test_a_report_that_joined_another_incident_says_which(env, linkage):
    first = make_report("hotline")
    second = make_report("police", caller=first["caller"])
    with env.with_time_skipping_disabled():
        a = await linkage.divert(first)
        b = await linkage.divert(second)
    assert b.incident_id == a.incident_id
    own = f"police-{second['reference']}"
    await linkage.result(own)
    shown = await details(linkage, own)
    assert shown.startswith("**已并入 merged**") and a.incident_id in shown, shown


async def test_a_closed_whistle_says_so(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.whistle(
        iid, {"actor": CENTRE, "reason": "重复报警，群众情绪激动", "units": ["区城管局"]}
    )
    await linkage.act(iid, "close-whistle", as_(CENTRE))
    whistle = f"{iid}.whistle-1"
    await linkage.client.get_workflow_handle(whistle).result()
    shown = await details(linkage, whistle)
    assert shown.startswith("**已结束 closed**") and "未报到 missed 区城市管理局" in shown, shown


async def test_incidents_are_told_apart_from_their_loops_and_escalations(env, linkage):
    iid, _ = await police_handles_a_12345_push(env, linkage)
    client = linkage.client

    async def kinds():
        found = {
            w.id: w.typed_search_attributes.get(KIND)
            async for w in client.list_workflows(f'LinkageIncident = "{iid}"')
        }
        assert found == {iid: "incident", f"{iid}.police": "police_loop"}, found
        incidents = [w.id async for w in client.list_workflows('LinkageKind = "incident"')]
        assert iid in incidents and f"{iid}.police" not in incidents

    await eventually(kinds, seconds=15)


async def test_a_units_work_is_found_by_the_unit(env, linkage):
    iid, _ = await police_handles_a_12345_push(env, linkage)
    client = linkage.client

    async def by_unit():
        found = {w.id async for w in client.list_workflows('LinkageUnits = "pcs.huangdai"')}
        assert f"{iid}.police" in found
        mine = [w async for w in client.list_workflows(f'LinkageIncident = "{iid}"')]
        assert {w.id: w.typed_search_attributes.get(UNITS) for w in mine}[iid] == [
            "hotline.command"
        ]

    await eventually(by_unit, seconds=15)
