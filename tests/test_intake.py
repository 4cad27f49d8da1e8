"""The intake: repeated reports join one incident; abuse of the lines becomes a police case."""

import asyncio
import tempfile

import pytest

from linkage.domain.models import Owner
from linkage.records.store import Store
from linkage.records.tables import Incident
from tests.conftest import eventually, make_report, own_worker
from tests.parties import BUREAU, STATION, as_, police_loop


async def divert_all(env, linkage, reports):
    with env.with_time_skipping_disabled():
        return await asyncio.gather(*(linkage.divert(r) for r in reports))


async def test_two_reports_from_one_caller_at_the_same_moment_make_one_incident(env, linkage):
    first = make_report("hotline")
    second = make_report("police", caller=first["caller"])  # another platform, another number
    a, b = await divert_all(env, linkage, [first, second])
    assert a.incident_id == b.incident_id
    assert sorted([a.new, b.new]) == [False, True]
    joined = b if not b.new else a
    assert joined.matched_by == "caller" and joined.reports == 2

    state = (await linkage.status(a.incident_id)).incident
    assert state.pushes == 2 and any("重复报告" in e.note for e in state.timeline)

    async def listed():
        rows = await linkage.list(township="黄埭镇", running_only=True)
        row = next(r for r in rows if r.incident_id == a.incident_id)
        assert row.reports == 2

    await eventually(listed, seconds=15)


async def test_the_same_place_and_category_joins_and_another_category_does_not(env, linkage):
    place = {"address": "元和街道娄苑路7号", "township": "元和街道"}
    first = make_report("police", location=place)
    same = make_report("police", location=place)
    other = make_report(
        "police",
        location=place,
        category="施工管理",
        description="隔壁工地夜里施工噪音太大，吵得睡不着",
    )
    results = []
    for report in (first, same, other):
        results += await divert_all(env, linkage, [report])
    assert results[1].incident_id == results[0].incident_id
    assert results[1].matched_by == "place"
    assert results[2].new and results[2].incident_id != results[0].incident_id


async def test_a_closed_incident_is_not_joined(env, linkage):
    first = make_report("hotline")
    (opened,) = await divert_all(env, linkage, [first])
    await linkage.act(opened.incident_id, "accept", as_(BUREAU))
    await police_loop(linkage, opened.incident_id)
    await linkage.result(opened.incident_id)

    async def starts_anew():
        (again,) = await divert_all(env, linkage, [make_report("hotline", caller=first["caller"])])
        return again

    again = await starts_anew()
    assert again.new and again.incident_id != opened.incident_id


async def test_repeated_reports_blow_the_whistle_by_rule(env, linkage):
    first = make_report("hotline")
    reports = [first] + [make_report("hotline", caller=first["caller"]) for _ in range(2)]
    results = []
    for report in reports:
        results += await divert_all(env, linkage, [report])
    iid = results[0].incident_id
    assert {r.incident_id for r in results} == {iid} and results[-1].reports == 3

    async def whistled():
        state = (await linkage.status(iid)).incident
        assert state.whistles and state.whistles[0].blown_by == "rule:repeat_reports"
        return state.whistles[0]

    whistle = await eventually(whistled)
    assert "重复报警" in whistle.reason
    rows = await eventually(lambda: _listed_whistled(linkage, iid), seconds=15)
    assert rows


async def _listed_whistled(linkage, iid):
    rows = await linkage.list(whistled=True, running_only=True)
    assert iid in [r.incident_id for r in rows]
    return rows


async def test_a_caller_who_abuses_the_lines_is_handed_to_police(env, linkage, store):
    first = make_report("hotline", description="我就是想找人聊天，你们快点来")
    reports = [first] + [
        make_report(
            "police" if i % 2 else "hotline",
            caller=first["caller"],
            description="又打来了，还是那件事",
        )
        for i in range(7)
    ]
    results = []
    for report in reports:
        results += await divert_all(env, linkage, [report])
    case_id = results[-1].harassment_case
    assert case_id.startswith("hotline-SR")  # 8 reports within 24 hours: the configured rule
    assert all(not r.harassment_case for r in results[:-1])

    status = await linkage.status(case_id)
    state = status.incident
    assert state.origin.value == "hotline" and state.receiver.value == "police"
    record = store.get(Incident, case_id)
    assert record.description.startswith("恶意骚扰") and record.category == "违法犯罪类"
    await linkage.act(case_id, "accept", as_(BUREAU))
    await police_loop(linkage, case_id, STATION)
    summary = await linkage.result(case_id)
    assert summary.owner is Owner.police and summary.police.completed
    # The caller's other reports still form one ordinary incident; the case did not swallow them.
    assert len({r.incident_id for r in results}) == 1


async def test_the_same_push_ten_times_at_once_is_one_incident_and_one_report(env, linkage, store):
    report = make_report("police")
    results = await divert_all(env, linkage, [report] * 10)
    assert {r.incident_id for r in results} == {f"police-{report['reference']}"}
    assert sum(r.new for r in results) == 1 and sum(r.resent for r in results) == 9
    status = await linkage.status(results[0].incident_id)
    assert status.incident.pushes == 1 and not status.incident.whistles
    assert store.get(Incident, results[0].incident_id).pushes == 1


async def test_a_repeat_ends_by_itself_once_it_has_joined(env, linkage):
    first = make_report("hotline")
    second = make_report("police", caller=first["caller"])
    (a,) = await divert_all(env, linkage, [first])
    (b,) = await divert_all(env, linkage, [second])
    assert b.incident_id == a.incident_id and b.matched_by == "caller"
    # The repeat's own workflow closed as merged: nothing waits on another workflow to end.
    own = f"police-{second['reference']}"
    summary = await linkage.result(own)
    assert summary.stage.value == "merged" and summary.merged_into == a.incident_id
    # Sent again after that, it still answers with the incident it joined.
    (again,) = await divert_all(env, linkage, [second])
    assert again.incident_id == a.incident_id and again.resent


async def test_two_matching_reports_at_once_make_one_incident_on_postgresql(
    env,
    postgres_schema,
):
    store = Store(postgres_schema)
    async with own_worker(env, store, "linkage-intake-pg") as client:
        first = make_report("hotline")
        second = make_report("police", caller=first["caller"])
        a, b = await divert_all(env, client, [first, second])
        assert a.incident_id == b.incident_id and sorted([a.new, b.new]) == [False, True]


async def test_a_report_whose_match_was_ended_by_hand_opens_an_incident_of_its_own(env, linkage):
    first = make_report("hotline")
    (a,) = await divert_all(env, linkage, [first])
    # Ended by hand (terminated), it never released its claims; the next report finds it
    # not running, lets its claims go and is taken again.
    await env.client.get_workflow_handle(a.incident_id).terminate("test: ended by hand")
    (b,) = await divert_all(env, linkage, [make_report("police", caller=first["caller"])])
    assert b.new and b.incident_id != a.incident_id


async def test_a_broken_configuration_keeps_the_report_waiting_until_it_is_mended(
    env, linkage, store, tmp_path, monkeypatch
):
    """Nothing is lost to a district file that does not validate: the report's incident is
    started and waits (its workflow task fails and is retried), nothing is written, and it
    opens by itself once the file is mended; no one pushes it again."""
    import shutil

    from temporalio.client import WorkflowExecutionStatus

    from linkage.client import NoAnswer
    from linkage.settings.paths import config_dir

    shutil.copytree(config_dir(), tmp_path / "config")
    table = tmp_path / "config" / "time-limits.toml"
    good = table.read_text(encoding="utf-8")
    table.write_text(good.replace("sign_hours = 2 ", "sign_hours = -2 "), encoding="utf-8")
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LINKAGE_ANSWER_SECONDS", "3")  # the caller is answered in seconds
    report = make_report("police")
    (result,) = await divert_all(env, linkage, [report])
    iid = f"police-{report['reference']}"
    assert result.queued and result.incident_id == iid and not result.new
    handle = linkage.client.get_workflow_handle(iid)
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert store.get(Incident, iid) is None and store.timeline(iid) == []

    async def waiting() -> None:
        # Until its failed task is on record the worker still answers from the state before
        # it (under load that takes a moment); from then on it is said plainly, not as an
        # RPC error: ask again later.
        try:
            status = await linkage.status(iid)
        except NoAnswer:
            return
        raise AssertionError(f"answered at {status.stage}")

    await eventually(waiting, seconds=30)

    table.write_text(good, encoding="utf-8")  # an operator mends the file

    def opened() -> None:
        assert store.get(Incident, iid) is not None

    await eventually(opened, seconds=90)

    async def at_review() -> None:
        try:  # the row is written before the task that wrote it completes
            status = await linkage.status(iid)
        except NoAnswer as err:
            raise AssertionError(str(err)) from None
        assert status.stage.value == "sending_review"

    await eventually(at_review, seconds=30)


async def test_a_report_refused_for_its_data_fails_its_run_and_may_be_pushed_again(env):
    """The records database refuses the report itself (not an outage): the caller is told,
    the run fails (not closed), so the same reference opens once the cause is mended."""
    from sqlalchemy.exc import DataError

    from linkage.client import LinkageError

    class Refusing(Store):
        refuse = True

        def take_report(self, input):
            if self.refuse:
                raise DataError("INSERT", {}, Exception("value too long for type"))
            return super().take_report(input)

    store = Refusing(f"sqlite:///{tempfile.mkdtemp()}/records.db")
    async with own_worker(env, store, "linkage-intake-refused") as client:
        report = make_report("police")
        with pytest.raises(LinkageError, match="refused: 受理失败 not taken"):
            await divert_all(env, client, [report])
        iid = f"police-{report['reference']}"
        assert store.get(Incident, iid) is None
        store.refuse = False
        (again,) = await divert_all(env, client, [report])
        assert again.new and again.incident_id == iid


async def test_a_harassment_case_outlives_the_report_that_started_it(
    env, linkage, tmp_path, monkeypatch
):
    """The case is started by the report that tipped its caller over the rule, which joins the
    caller's incident and ends at once; the case lives on by itself, and something of its own
    being late tells no one (signalling the ended report used to fail it)."""
    import re
    import shutil

    from temporalio.client import WorkflowExecutionStatus

    from linkage.settings.paths import config_dir

    shutil.copytree(config_dir(), tmp_path / "config")  # the bureau's review: due in a second
    table = tmp_path / "config" / "time-limits.toml"
    text = table.read_text(encoding="utf-8")
    text = re.sub(
        r"^sending_review_hours = [0-9.]+", "sending_review_hours = 0.0003", text, flags=re.M
    )
    table.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(tmp_path / "config"))

    first = make_report("hotline", description="我就是想找人聊天，你们快点来")
    results = []
    for i in range(8):
        again = make_report(
            "police" if i % 2 else "hotline",
            caller=first["caller"],
            description="又打来了，还是那件事",
        )
        results += await divert_all(env, linkage, [first if i == 0 else again])
    case_id = results[-1].harassment_case
    assert case_id
    case = linkage.client.get_workflow_handle(case_id)
    started_by = (await case.describe()).parent_id
    assert started_by and started_by != case_id
    ended = linkage.client.get_workflow_handle(started_by)
    assert (await ended.describe()).status is not WorkflowExecutionStatus.RUNNING
    # police take the case; the station pushes it to the bureau, whose review is then missed
    # and stays so: the case has something late of its own
    await linkage.act(case_id, "accept", as_(BUREAU))
    await linkage.act(case_id, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(case_id, "arrive", as_(STATION))
    await linkage.act(case_id, "push-to-bureau", as_(STATION, reason="属民事纠纷，需政府部门处理"))

    async def late_and_alive() -> None:
        assert "分局审核时限" in [i.label for i in (await linkage.status(case_id)).incident.late]
        assert (await case.describe()).status is WorkflowExecutionStatus.RUNNING

    await eventually(late_and_alive, seconds=20)
