"""Finding incidents: `linkage list` on Temporal visibility, by stage, owner, township, overdue."""

from datetime import timedelta

from tests.conftest import eventually, open_incident, started_loop
from tests.parties import divert_to_hotline


async def test_list_filters_by_stage_owner_township_and_overdue(env, linkage):
    township = "阳澄湖镇"
    waiting = await open_incident(
        env, linkage, "police", location={"address": "阳澄湖镇湘石路1号", "township": township}
    )
    late = await open_incident(
        env, linkage, "police", location={"address": "阳澄湖镇湘石路9号", "township": township}
    )
    await divert_to_hotline(linkage, late)  # and the centre does not dispatch in time
    await env.fast_forward(await started_loop(env, late, "hotline"), timedelta(hours=2, minutes=1))

    async def listed(**filters) -> list[str]:
        return [row.incident_id for row in await linkage.list(township=township, **filters)]

    async def check():
        assert sorted(await listed()) == sorted([waiting, late])
        assert await listed(stage="sending_review") == [waiting]
        assert await listed(stage="handling", owner="hotline") == [late]
        # the order's dispatch is missed: the incident is overdue, not only its loop
        assert await listed(overdue=True) == [late]
        assert await listed(owner="police") == []

    await eventually(check, seconds=15)
    rows = await linkage.list(township=township, overdue=True)
    assert rows[0].overdue and rows[0].origin == "police" and rows[0].category == "市容管理"
    # with what waits, on whom, by when, and how often it was supervised
    assert rows[0].step == "派遣时限" and rows[0].waiting_on == ["区集成指挥中心"]
    assert rows[0].supervisions == 1 and rows[0].due is not None
