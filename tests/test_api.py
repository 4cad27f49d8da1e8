"""The HTTP API: a platform diverts and acts with its own token; the actor is the token's
principal; the policy refuses (403, nothing changed) what the principal's role or unit may not
do; every action and refusal is in the audit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from linkage.interfaces.api.app import make_app
from tests.conftest import eventually, history_length, make_report, open_incident
from tests.parties import BUREAU, CENTRE, CITY_MGMT, as_, divert_to_hotline
from tests.tokens import Tokens

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def api(linkage, tokens):
    transport = httpx.ASGITransport(app=make_app(linkage, tokens.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_platform_diverts_and_acts_with_its_token_alone(api, tokens, linkage):
    station = bearer(tokens.party("police_unit"))
    report = make_report("police")
    answer = await api.post("/reports", json=report, headers=station)
    assert answer.status_code == 201, answer.text
    iid = answer.json()["incident_id"]
    bureau = bearer(tokens.party("police_bureau"))
    done = await api.post(f"/incidents/{iid}/actions/review", json={}, headers=bureau)
    assert done.status_code == 200, done.text
    assert done.json()["state"]["stage"] == "receiving_review"
    status = (await api.get(f"/incidents/{iid}", headers=bureau)).json()
    review = next(e for e in status["incident"]["timeline"] if e["action"] == "approve")
    assert review["actor"] == "police_bureau:区公安分局/李警官"  # the token's, nobody else's


async def test_the_actor_is_never_a_field_the_caller_fills_in(api, tokens, linkage, env):
    iid = await open_incident(env, linkage, "police")
    member = bearer(tokens.party("member_unit"))
    forged = {"actor": {"role": "police_bureau", "unit": "区公安分局", "person": "假冒"}}
    answer = await api.post(f"/incidents/{iid}/actions/review", json=forged, headers=member)
    assert answer.status_code == 403  # a member unit never reviews, whatever it claims
    bureau = bearer(tokens.party("police_bureau"))
    answer = await api.post(f"/incidents/{iid}/actions/review", json=forged, headers=bureau)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "actor"
    assert (await linkage.status(iid)).stage.value == "sending_review"


async def test_missing_and_bad_tokens_are_401_in_one_error_shape(api, env, linkage):
    iid = await open_incident(env, linkage, "police")
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = await api.get(f"/incidents/{iid}", headers=headers)
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["code"] == "unauthenticated" and error["message"]
        assert answer.headers["www-authenticate"] == "Bearer"


async def test_validation_errors_name_the_field(api, tokens, env, linkage):
    centre = bearer(tokens.party("command_center"))
    bad = make_report("hotline", caller={"name": "王小明", "phone": "12"})
    answer = await api.post("/reports", json=bad, headers=centre)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "caller.phone"
    iid = await open_incident(env, linkage, "police")
    bureau = bearer(tokens.party("police_bureau"))
    answer = await api.post(f"/incidents/{iid}/actions/send-back", json={}, headers=bureau)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "reason"
    answer = await api.get("/incidents", params={"limit": 0}, headers=bureau)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "limit"
    answer = await api.post(f"/incidents/{iid}/actions/fly", json={}, headers=bureau)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "action"


async def test_unknown_incident_is_404(api, tokens):
    bureau = bearer(tokens.party("police_bureau"))
    answer = await api.get("/incidents/police-NOPE0000", headers=bureau)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


async def test_a_unit_acting_on_another_units_order_is_refused(api, tokens, env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    before = await history_length(env, f"{iid}.hotline")
    water = bearer(tokens.issue("member_unit", "区水务局", "周工"))
    answer = await api.post(f"/incidents/{iid}/actions/sign", json={}, headers=water)
    assert answer.status_code == 403
    assert "dispatched to is dept.cgj, not 区水务局" in answer.json()["error"]["message"]
    assert await history_length(env, f"{iid}.hotline") == before
    city = bearer(tokens.party("member_unit"))
    assert (await api.post(f"/incidents/{iid}/actions/sign", json={}, headers=city)).is_success


async def test_a_station_withdrawing_another_stations_push_is_refused(api, tokens, env, linkage):
    iid = await open_incident(env, linkage, "police")  # pushed by 黄埭派出所
    await linkage.act(iid, "send-back", as_(BUREAU, reason="推送原因不充分"))
    before = await history_length(env, iid)
    other = bearer(tokens.issue("police_unit", "元和派出所", "钱警官"))
    answer = await api.post(f"/incidents/{iid}/actions/withdraw", json={}, headers=other)
    assert answer.status_code == 403 and "its own push" in answer.json()["error"]["message"]
    assert await history_length(env, iid) == before
    own = bearer(tokens.party("police_unit"))
    done = await api.post(f"/incidents/{iid}/actions/withdraw", json={}, headers=own)
    assert done.status_code == 200 and done.json()["state"]["stage"] == "withdrawn"


async def test_a_forged_reply_by_a_member_unit_is_refused(api, tokens, env, linkage, store):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    await linkage.act(iid, "sign", as_(CITY_MGMT))
    await linkage.act(iid, "feedback", as_(CITY_MGMT, result="已到现场处理完毕"))
    city = bearer(tokens.party("member_unit"))
    phishing = {"message": "您的问题已处理，领取补贴请点击 http://evil.example/x"}
    answer = await api.post(f"/incidents/{iid}/actions/reply", json=phishing, headers=city)
    assert answer.status_code == 403
    assert not [m for m in store.outbox(target="sms", limit=1000) if m.incident_id == iid]
    # the 110 command centre is no 12345 centre either
    police_centre = bearer(tokens.issue("command_center", "police.command", "假坐席"))
    answer = await api.post(f"/incidents/{iid}/actions/reply", json=phishing, headers=police_centre)
    assert answer.status_code == 403 and "12345 command centre" in answer.text


async def test_divert_only_by_the_origin_side_and_for_its_own_unit(api, tokens):
    station = bearer(tokens.party("police_unit"))
    theirs = make_report("police", originating_unit="元和派出所")
    answer = await api.post("/reports", json=theirs, headers=station)
    assert answer.status_code == 403 and "originating_unit" in answer.text
    centre = bearer(tokens.party("command_center"))
    answer = await api.post("/reports", json=make_report("police"), headers=centre)
    assert answer.status_code == 403
    bureau = bearer(tokens.party("police_bureau"))  # the bureau pushes for any of its units
    assert (await api.post("/reports", json=theirs, headers=bureau)).status_code == 201


async def test_a_unit_lists_its_own_queue(api, tokens, env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    city = bearer(tokens.party("member_unit"))

    async def queued():
        rows = (await api.get("/incidents", headers=city)).json()
        assert iid in [r["incident_id"] for r in rows]

    await eventually(queued)
    answer = await api.get("/incidents", params={"unit": "区水务局"}, headers=city)
    assert answer.status_code == 403


async def test_outbox_read_and_acknowledged_by_its_own_platform(api, tokens, env, linkage, store):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    centre, bureau = bearer(tokens.party("command_center")), bearer(tokens.party("police_bureau"))

    async def message():
        rows = (await api.get("/outbox", params={"target": "hotline"}, headers=centre)).json()
        found = [r for r in rows if r["incident_id"] == iid]
        assert found
        return found[0]

    row = await eventually(message)
    answer = await api.get("/outbox", params={"target": "hotline"}, headers=bureau)
    assert answer.status_code == 403
    assert (await api.post(f"/outbox/{row['key']}/ack", headers=bureau)).status_code == 403
    acked = await api.post(f"/outbox/{row['key']}/ack", headers=centre)
    assert acked.status_code == 200 and acked.json()["status"] == "delivered"
    missing = await api.post("/outbox/nope/ack", headers=centre)
    assert missing.status_code == 404


async def test_audit_lists_actions_and_refusals_by_incident_and_principal(
    api, tokens, env, linkage
):
    iid = await open_incident(env, linkage, "police")
    bureau = bearer(tokens.party("police_bureau"))
    city = bearer(tokens.party("member_unit"))
    await api.post(f"/incidents/{iid}/actions/review", json={}, headers=city)
    await api.post(f"/incidents/{iid}/actions/review", json={}, headers=bureau)
    supervisor = bearer(tokens.party("supervisor"))
    rows = (await api.get("/audit", params={"incident": iid}, headers=supervisor)).json()
    done = [(r["principal"], r["role"], r["unit"], r["action"], r["allowed"]) for r in rows]
    assert ("李警官", "police_bureau", "police.bureau", "review", True) in done
    assert ("钱科长", "member_unit", "dept.cgj", "review", False) in done
    refused = next(r for r in rows if not r["allowed"])
    assert "a member_unit may not take it" in refused["reason"] and refused["at"]
    rows = (await api.get("/audit", params={"principal": "钱科长"}, headers=supervisor)).json()
    assert rows and {r["principal"] for r in rows} == {"钱科长"}
    assert (await api.get("/audit", headers=bureau)).status_code == 403


def test_the_committed_openapi_schema_is_the_generated_one():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == make_app().openapi(), "regenerate: linkage serve --write-openapi"
