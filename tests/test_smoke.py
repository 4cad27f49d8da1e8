from linkage.models import Stage
from tests.conftest import make_report
from tests.parties import BUREAU, CENTRE, CITY_MGMT, as_


async def test_police_to_hotline_happy_path(env, linkage):
    report = make_report("police")
    with env.with_time_skipping_disabled():
        result = await linkage.divert(report)
    iid = result.incident_id
    await linkage.act(iid, "review", as_(BUREAU))
    await linkage.act(iid, "accept", as_(CENTRE))
    for action, payload in [
        ("dispatch", as_(CENTRE, unit="区城管局")),
        ("sign", as_(CITY_MGMT)),
        ("feedback", as_(CITY_MGMT, result="已清理摊位，消防通道恢复畅通")),
        ("reply", as_(CENTRE, message="您反映的占道经营已处理")),
        ("close", as_(CENTRE)),
        ("revisit", as_(CENTRE, outcome="satisfied")),
    ]:
        await linkage.act(iid, action, payload)
    summary = await linkage.result(iid)
    assert summary.stage is Stage.closed
    print(len(summary.timeline))
