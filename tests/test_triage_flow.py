"""Triage inside the incident: recorded first, the linkage desk's review, overrides, the floor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linkage.client import ActionRefused, LinkageError
from linkage.domain.models import Stage
from linkage.records.tables import Incident
from linkage.triage.triager import Triager
from tests.conftest import eventually, open_incident
from tests.parties import BUREAU, CENTRE, as_

DESK = {"role": "linkage_desk", "unit": "对接联动专席", "person": "陈专席"}


async def at_stage(linkage, iid: str, stage: Stage):
    async def reached():
        status = await linkage.status(iid)
        assert status.stage is stage, status.stage
        return status

    return await eventually(reached)


async def test_triage_runs_first_and_is_recorded_on_the_incident(env, linkage, store):
    iid = await open_incident(env, linkage, "police")
    status = await at_stage(linkage, iid, Stage.sending_review)
    triage = status.incident.triage
    assert (triage.direction, triage.subcategory.code) == ("hotline", "H02.06")
    assert triage.route.unit == "dept.cgj"  # the register's code
    assert status.timeline()[0].step == "triage"
    record = store.get(Incident, iid)
    assert (record.subcategory, record.direction, record.category) == (
        "H02.06",
        "hotline",
        "市容管理",
    )
    assert record.catalogue_version == triage.catalogue_version
    # the model that read it, versioned and recorded with the incident's triage
    assert triage.model_version and triage.model_version == Triager.shipped_model_version()
    assert record.model_version == triage.model_version
    assert triage.model is not None and triage.model.evidence
    description = await env.client.get_workflow_handle(iid).describe()
    assert description.search_attributes["LinkageSubcategory"] == ["H02.06"]


async def test_a_police_push_of_a_danger_stops_at_the_desk_and_stays_with_110(env, linkage):
    iid = await open_incident(
        env, linkage, "police", description="仓库着火了，黑烟很大，里面还有人"
    )
    status = await at_stage(linkage, iid, Stage.triage_review)
    assert status.incident.triage.safety and status.incident.deadlines[0].name == "triage_review"
    with pytest.raises(ActionRefused, match="for linkage_desk"):
        await linkage.act(iid, "triage-decide", as_(BUREAU, direction="hotline", reason="试试"))
    await linkage.act(iid, "triage-decide", as_(DESK, direction="police", reason="火情，留110"))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.withdrawn and "不再分流" in summary.outcome
    assert summary.triage_override is None  # confirmed, not changed
    assert any(e.action == "confirm" and "陈专席" in e.actor for e in summary.timeline)


async def test_an_undecided_danger_stays_with_police_when_the_desk_is_late(env, linkage):
    iid = await open_incident(env, linkage, "police", description="有人掉河里了，在水里挣扎")
    await at_stage(linkage, iid, Stage.triage_review)
    await env.fast_forward(env.client.get_workflow_handle(iid), timedelta(hours=2))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.withdrawn
    assert any(e.action == "expired" and "110" in e.note for e in summary.timeline)


async def test_the_desk_overrides_a_vague_report_and_the_push_goes_on(env, linkage):
    iid = await open_incident(env, linkage, "hotline", description="喂，你好，我想说个事情")
    status = await at_stage(linkage, iid, Stage.triage_review)
    assert status.incident.triage.needs_review
    with pytest.raises(LinkageError, match="subcategory: 'X9' is not a subcategory code or name"):
        await linkage.act(
            iid, "triage-decide", as_(DESK, direction="police", subcategory="X9", reason="核实")
        )
    state = await linkage.act(
        iid,
        "triage-decide",
        as_(DESK, direction="police", subcategory="P01.03", reason="回拨核实为涉赌线索"),
    )
    assert state.triage.subcategory.code == "P01.03" and state.triage.route.unit == "pcs.huangdai"
    assert state.triage_override.actor.endswith("陈专席")
    assert state.triage_override.reason == "回拨核实为涉赌线索"
    await at_stage(linkage, iid, Stage.receiving_review)
    with pytest.raises(ActionRefused, match="the direction stays police"):
        await linkage.act(iid, "triage-decide", as_(DESK, direction="hotline", reason="改主意"))
    await linkage.act(iid, "accept", as_(BUREAU))
    police = await linkage.status(iid)
    assert police.incident.owner.value == "police"
    assert police.police.suggested_unit == "pcs.huangdai"
    await linkage.act(iid, "command", as_(BUREAU))  # no unit: the one triage routed it to
    assert (await linkage.status(iid)).police.unit == "pcs.huangdai"


async def test_dispatch_without_a_unit_takes_triage_route_on_the_first_dispatch(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "review", as_(BUREAU))
    await linkage.act(iid, "accept", as_(CENTRE))
    await linkage.act(iid, "dispatch", as_(CENTRE))
    assert (await linkage.status(iid)).hotline.unit == "dept.cgj"


async def test_a_joint_matter_gives_each_loop_its_own_unit(env, linkage):
    iid = await open_incident(
        env,
        linkage,
        "hotline",
        description="楼上装修太吵，我上去说了两句他就动手打人，施工噪音天天都有",
    )
    await linkage.act(iid, "accept", as_(BUREAU))
    status = await linkage.status(iid)
    assert status.incident.owner.value == "joint"
    assert status.police.suggested_unit == "pcs.huangdai"

    async def hotline_started():
        hotline = (await linkage.status(iid)).hotline
        assert hotline is not None
        return hotline

    hotline = await eventually(hotline_started)
    assert hotline.suggested_unit == "dept.zjj"


async def test_the_desk_sending_a_danger_to_12345_notifies_no_one(env, linkage):
    iid = await open_incident(
        env, linkage, "police", description="仓库着火了，黑烟很大，里面还有人"
    )
    status = await at_stage(linkage, iid, Stage.triage_review)
    assert "119" in status.incident.triage.emergency_units
    decided = await linkage.act(
        iid,
        "triage-decide",
        as_(DESK, direction="hotline", subcategory="H08.03", reason="回拨核实为消防演练"),
    )
    assert decided.triage.emergency_units == [] and decided.triage.direction == "hotline"
