"""The role × action matrix, through the API: every action by every role on one incident where
each party has its part (a 110 push by 黄埭派出所, handled jointly: 12345 dispatched to 区城管局,
police commanded 黄埭派出所, 120 notified, 区城管局 summoned by a whistle), and by a unit with
no part in it. The refused are 403 and change nothing; the allowed pass the policy and reach
the workflow (which may still refuse a step that is not due: 409)."""

from __future__ import annotations

import httpx
import pytest

from linkage.domain.action_specs import ACTIONS
from linkage.interfaces.api.app import make_app
from linkage.records.audit import AuditLog
from tests.conftest import eventually, history_length, open_incident, started_loop
from tests.parties import BUREAU, CENTRE, CITY_MGMT, as_, divert_to_hotline
from tests.tokens import PARTIES, Tokens

ROLES = [*PARTIES, "outsider"]  # outsider: 区水务局, a member unit with no part in it
B, S, C, M, E, D = (
    "police_bureau",
    "police_unit",
    "command_center",
    "member_unit",
    "emergency_unit",
    "linkage_desk",
)
EXPECTED: dict[str, set[str]] = {
    "triage-decide": {D},
    "review": {B},
    "send-back": {B},
    "resubmit": {B, S},
    "withdraw": {B, S},
    "accept": {C},
    "dispute": {C},
    "settle": {B, C, D},
    "command": {B},
    "arrive": {S},
    "push-to-bureau": {S},
    "dispatch": {C},
    "sign": {M},
    "return": {M},
    "extend": {M},
    "approve-extension": {C},
    "refuse-extension": {C},
    "feedback": {S, M},
    "reply": {C},
    "close": {C},
    "reject": {C},
    "revisit": {C},
    "approve-push": {B},
    "refuse-push": {B},
    "police-linkage": {M},
    "report-in": {M},
    "whistle-plan": {B, C, M},
    "whistle-handle": {B, C, M},
    "close-whistle": {B, C},
    "emergency-linkage": {B, C},
    "acknowledge": {E},
    "whistle": {B, C},
    "status": {B, S, C, M, E, D, "supervisor", "operator"},
}
PAYLOADS = {
    "triage-decide": {"direction": "hotline", "reason": "复核改判"},
    "send-back": {"reason": "推送原因不充分"},
    "resubmit": {"divert_reason": "补正推送原因"},
    "dispute": {"reason": "不属本平台职责"},
    "settle": {"owner": "joint"},
    "command": {"unit": "黄埭派出所"},
    "push-to-bureau": {"reason": "需城管协同处置"},
    "dispatch": {"unit": "区城管局"},
    "return": {"reason": "不属本单位职责"},
    "extend": {"hours": 24.0, "reason": "需协调多个部门"},
    "feedback": {"result": "已到现场处理完毕"},
    "reply": {"message": "您反映的问题已处理"},
    "reject": {"reason": "反馈与事实不符"},
    "revisit": {"outcome": "satisfied"},
    "refuse-push": {"reason": "由警方继续处置"},
    "police-linkage": {"reason": "现场冲突升级"},
    "whistle-plan": {"note": "城管清理，民警维持秩序"},
    "whistle-handle": {"note": "已清理完毕"},
    "emergency-linkage": {"units": ["120"]},
    "whistle": {"reason": "群众情绪激动", "units": ["区城管局"]},
}
# Those that end a loop, a whistle or a notice go last, so each allowed one finds its part.
LAST = ["report-in", "whistle-plan", "whistle-handle", "close-whistle", "acknowledge"]
LAST += ["feedback", "reply", "reject", "close", "revisit", "return"]
ORDER = [a for a in [*ACTIONS, "whistle", "status"] if a not in LAST] + LAST


def test_the_matrix_covers_every_action():
    assert set(EXPECTED) == set(ACTIONS) | {"whistle", "status"} == set(ORDER)


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


async def matrix_incident(env, linkage) -> str:
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    await linkage.act(iid, "police-linkage", as_(CITY_MGMT, reason="摊贩扬言动手"))
    await started_loop(env, iid, "police")
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    await linkage.act(iid, "emergency-linkage", as_(CENTRE, units=["120"]))
    await linkage.whistle(
        iid, {"actor": CENTRE, "reason": "群众聚集，情绪激动", "units": ["区城管局"]}
    )

    async def whistled():
        status = await linkage.status(iid)
        assert status.whistles and status.emergencies

    await eventually(whistled)
    return iid


async def send(api, iid: str, action: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if action == "status":
        return await api.get(f"/incidents/{iid}", headers=headers)
    if action == "whistle":
        return await api.post(f"/incidents/{iid}/whistle", json=PAYLOADS[action], headers=headers)
    body = PAYLOADS.get(action, {})
    return await api.post(f"/incidents/{iid}/actions/{action}", json=body, headers=headers)


async def histories(env, linkage, iid: str) -> dict[str, int]:
    status = await linkage.status(iid)
    ids = [iid, f"{iid}.police", f"{iid}.hotline"]
    ids += [w.workflow_id for w in status.incident.whistles]
    ids += [e.workflow_id for e in status.incident.emergencies]
    return {wid: await history_length(env, wid) for wid in ids}


async def test_every_action_by_every_role(env, linkage, tokens, store):
    iid = await matrix_incident(env, linkage)
    token = {role: tokens.party(role) for role in PARTIES}
    token["outsider"] = tokens.issue("member_unit", "区水务局", "周工")
    transport = httpx.ASGITransport(app=make_app(linkage, tokens.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        before = await histories(env, linkage, iid)
        refusals = 0
        for action in ORDER:  # first every refused cell: nothing may change
            for role in ROLES:
                if role in EXPECTED[action]:
                    continue
                answer = await send(api, iid, action, token[role])
                assert answer.status_code == 403, (action, role, answer.text)
                assert answer.json()["error"]["code"] == "forbidden"
                refusals += 1
        assert await histories(env, linkage, iid) == before
        audit = AuditLog(store.engine).list(incident_id=iid, refused=True, limit=10_000)
        assert len(audit) == refusals

        for action in ORDER:  # then each allowed one passes the policy and reaches the workflow
            for role in ROLES:
                if role not in EXPECTED[action]:
                    continue
                answer = await send(api, iid, action, token[role])
                assert answer.status_code in (200, 202, 409), (action, role, answer.text)
        reached = AuditLog(store.engine).list(incident_id=iid, limit=10_000)
        allowed = [r for r in reached if r.allowed or r.detail.get("refused_by")]
        assert len(allowed) == sum(len(roles) for roles in EXPECTED.values())
        done = {(r.action, r.role) for r in reached if r.allowed}
        # the steps that were due were taken, by their own party
        assert {("arrive", S), ("report-in", M), ("acknowledge", E), ("reply", C)} <= done
