"""The 12345 loop: dispatch and returns, deadlines, extensions, rejection, revisit and reopening."""

from datetime import timedelta

import pytest

from linkage.client import ActionRefused, LinkageError
from linkage.domain.models import Satisfaction, Stage
from linkage.records.tables import Incident
from tests.conftest import eventually, loop_handle, open_incident, started_loop
from tests.parties import (
    CENTRE,
    CITY_MGMT,
    STATION,
    TOWNSHIP,
    WATER,
    as_,
    divert_to_hotline,
    handle_order,
    reply_and_close,
)


async def hotline_incident(env, linkage, **overrides) -> str:
    iid = await open_incident(env, linkage, "police", **overrides)
    await divert_to_hotline(linkage, iid)
    return iid


def actions(state) -> list[str]:
    return [e.action for e in state.timeline]


async def test_actions_that_do_not_fit_are_refused_and_change_nothing(env, linkage):
    iid = await hotline_incident(env, linkage)
    with pytest.raises(ActionRefused, match="needs 处置 \\(handle\\)"):
        await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    with pytest.raises(ActionRefused, match="for command_center, not member_unit"):
        await linkage.act(iid, "dispatch", as_(CITY_MGMT, unit="区城管局"))
    before = await loop_handle(env, iid, "hotline").query("state")
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    with pytest.raises(ActionRefused, match="dispatched to 区城市管理局, not to 区水务局"):
        await linkage.act(iid, "sign", as_(WATER))
    with pytest.raises(ActionRefused, match="is at 签收 \\(sign\\); this action needs 处置"):
        await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    with pytest.raises(ActionRefused, match="no police loop running .* owner hotline"):
        await linkage.act(iid, "command", as_(CENTRE, unit="黄埭派出所"))
    with pytest.raises(ActionRefused, match="no police loop running"):
        await linkage.act(iid, "arrive", as_(STATION))
    state = (await linkage.status(iid)).hotline
    assert state.step.value == "sign" and state.unit == "dept.cgj"
    # A refused action left no trace: only the dispatch was added.
    assert len(state.timeline) == len(before["timeline"]) + 1


async def test_return_and_redispatch_up_to_the_limit(env, linkage):
    iid = await hotline_incident(env, linkage)
    with pytest.raises(LinkageError, match="return: reason: Field required"):
        await linkage.act(iid, "return", as_(TOWNSHIP))
    for unit in (TOWNSHIP, WATER):
        await linkage.act(iid, "dispatch", as_(CENTRE, unit=unit["unit"]))
        state = await linkage.act(iid, "return", as_(unit, reason="不属于本单位职责"))
        assert state.step.value == "dispatch" and state.unit == ""
    assert state.returns == 2 and state.final_dispatch
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    with pytest.raises(ActionRefused, match="returned 2 times, the limit"):
        await linkage.act(iid, "return", as_(CITY_MGMT, reason="也不是我们的"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    # The return limit blew the whistle by rule; the incident closes once the whistle does.
    await linkage.act(iid, "close-whistle", as_(CENTRE, note="职责已明确，由区城管局承办"))
    summary = await linkage.result(iid)
    assert summary.hotline.returns == 2 and summary.hotline.unit == "dept.cgj"
    assert "退单次数达到上限" in summary.whistles[0].reason
    assert any("指定承办" in e.note for e in summary.timeline if e.action == "dispatch")


async def test_reminders_then_missed_deadline_is_supervised_and_counts_against_the_unit(
    env, linkage, store
):
    iid = await hotline_incident(env, linkage)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=119))
    state = (await linkage.status(iid)).hotline
    assert actions(state).count("remind") == 2  # 24 h and 2 h before the 120 h deadline
    assert not state.handle_missed and not state.overdue

    await env.fast_forward(handle, timedelta(hours=1, minutes=1))
    state = (await linkage.status(iid)).hotline
    assert state.handle_missed and state.overdue
    assert actions(state).count("supervise") == 1
    assert state.deadlines[0].missed and state.deadlines[0].supervisions == 1

    await env.fast_forward(handle, timedelta(hours=24))
    state = (await linkage.status(iid)).hotline
    assert actions(state).count("supervise") == 2  # supervision repeats while it stays missed

    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已处理"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.hotline.completed and not summary.hotline.on_time
    assessment = summary.assessments[0]
    assert assessment.assessor == "command_center" and not assessment.on_time


async def test_extension_approved_moves_the_deadline(env, linkage):
    iid = await hotline_incident(env, linkage)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    state = await linkage.act(iid, "sign", as_(CITY_MGMT))
    deadline = state.deadlines[0].at
    with pytest.raises(ActionRefused, match="no extension request"):
        await linkage.act(iid, "approve-extension", as_(CENTRE))
    with pytest.raises(ActionRefused, match="at most 240 hours"):
        await linkage.act(iid, "extend", as_(CITY_MGMT, hours=500, reason="需要很久"))
    await linkage.act(iid, "extend", as_(CITY_MGMT, hours=48, reason="需联合执法"))
    with pytest.raises(ActionRefused, match="already waiting"):
        await linkage.act(iid, "extend", as_(CITY_MGMT, hours=24, reason="再延"))
    with pytest.raises(ActionRefused, match="for command_center"):
        await linkage.act(iid, "approve-extension", as_(CITY_MGMT))
    state = await linkage.act(iid, "approve-extension", as_(CENTRE))
    assert state.deadlines[0].at - deadline == timedelta(hours=48)
    assert state.pending_extension is None

    # The old deadline passes without supervision; the new one is what counts.
    handle = await started_loop(env, iid, "hotline")
    await env.fast_forward(handle, timedelta(hours=121))
    state = (await linkage.status(iid)).hotline
    assert not state.handle_missed and "supervise" not in actions(state)


async def test_extension_refused_keeps_the_deadline(env, linkage):
    iid = await hotline_incident(env, linkage)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    state = await linkage.act(iid, "sign", as_(CITY_MGMT))
    deadline = state.deadlines[0].at
    await linkage.act(iid, "extend", as_(CITY_MGMT, hours=48, reason="人手不足"))
    state = await linkage.act(iid, "refuse-extension", as_(CENTRE, note="人手不足不是延期理由"))
    assert state.deadlines[0].at == deadline and state.pending_extension is None
    assert "extension_refused" in actions((await linkage.status(iid)).hotline)
    await env.fast_forward(await started_loop(env, iid, "hotline"), timedelta(hours=120, minutes=1))
    assert (await linkage.status(iid)).hotline.handle_missed


async def test_unsigned_order_counts_as_signed_late(env, linkage):
    iid = await hotline_incident(env, linkage)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    await env.fast_forward(await started_loop(env, iid, "hotline"), timedelta(hours=2, minutes=1))
    state = (await linkage.status(iid)).hotline
    assert state.step.value == "handle" and state.sign_late and state.overdue
    assert "auto_sign" in actions(state)


async def test_feedback_rejected_at_close_goes_back_to_handling(env, linkage):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await linkage.act(iid, "reply", as_(CENTRE, message="已处理"))
    with pytest.raises(ActionRefused, match="needs a reason"):
        await linkage.act(iid, "reject", as_(CENTRE))
    state = await linkage.act(iid, "reject", as_(CENTRE, reason="反馈内容不实"))
    assert state.step.value == "handle" and state.feedback == ""
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="再次到场，已彻底清理"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    summary = await linkage.result(iid)
    assert summary.hotline.feedback == "再次到场，已彻底清理"
    assert "reject" in [e.action for e in summary.timeline]


async def test_dissatisfied_reopens_once(env, linkage):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    state = await linkage.act(iid, "revisit", as_(CENTRE, outcome="dissatisfied"))
    assert state.step.value == "handle" and state.reopens == 1
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="重新处理"))
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="dissatisfied"))
    summary = await linkage.result(iid)
    assert summary.stage is Stage.closed
    assert summary.hotline.satisfaction is Satisfaction.dissatisfied
    assert summary.hotline.reopens == 1
    assert summary.assessments[0].satisfaction == "dissatisfied"


async def test_citizen_unreachable_closes_as_not_revisited(env, linkage):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    for attempt in (1, 2):
        state = await linkage.act(iid, "revisit", as_(CENTRE, outcome="unreachable"))
        assert state.step.value == "revisit" and state.revisit_attempts == attempt
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="unreachable"))
    summary = await linkage.result(iid)
    assert summary.hotline.satisfaction is Satisfaction.not_revisited
    assert summary.hotline.completed


async def test_revisit_not_done_in_time_closes_as_not_revisited(env, linkage):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await env.fast_forward(await started_loop(env, iid, "hotline"), timedelta(hours=72, minutes=1))
    summary = await linkage.result(iid)
    assert summary.hotline.satisfaction is Satisfaction.not_revisited


async def test_reply_goes_to_the_citizen_and_to_police(env, linkage, store):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await linkage.act(iid, "reply", as_(CENTRE, message="您反映的问题已处理"))
    await linkage.act(iid, "close", as_(CENTRE))
    order_no = f"GD-{iid.removeprefix('police-')}"

    def both_sent() -> dict:
        messages = {m.id: m for m in store.outbox(limit=1000) if m.incident_id == iid}
        assert {f"{order_no}:reply:0", f"{order_no}:reply-police:0"} <= set(messages)
        return messages

    messages = await eventually(both_sent)
    sms = messages[f"{order_no}:reply:0"]
    assert sms.target == "sms" and sms.payload["message"] == "您反映的问题已处理"
    phone = store.get(Incident, iid).caller_phone
    assert phone.startswith("139") and sms.payload["phone"] == phone  # from the records
    assert messages[f"{order_no}:reply-police:0"].target == "police"


async def test_a_second_reply_after_a_rejected_close_is_sent_too(env, linkage, store):
    iid = await hotline_incident(env, linkage)
    await handle_order(linkage, iid)
    await linkage.act(iid, "reply", as_(CENTRE, message="初次答复"))
    await linkage.act(iid, "reject", as_(CENTRE, reason="反馈不实"))
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="重新处理完毕"))
    await linkage.act(iid, "reply", as_(CENTRE, message="再次答复"))
    order_no = f"GD-{iid.removeprefix('police-')}"

    def both_replies() -> list[str]:
        sms = [m for m in store.outbox(target="sms", limit=1000) if m.incident_id == iid]
        assert {m.id for m in sms} == {f"{order_no}:reply:0", f"{order_no}:reply:1"}
        return sorted(m.payload["message"] for m in sms)

    assert await eventually(both_replies) == ["再次答复", "初次答复"]
