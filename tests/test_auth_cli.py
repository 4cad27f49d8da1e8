"""The CLI with tokens: it acts as the token's principal (LINKAGE_TOKEN or a profile), refuses
what the policy refuses and an --as that disagrees with the token; without a token it acts as
the host's operator only where the signing key is; tokens are issued, listed and revoked; the
audit is listed by incident and by principal."""

from __future__ import annotations

import json

import pytest

from linkage.records.audit import AuditLog
from tests.conftest import open_incident
from tests.parties import CENTRE, CITY_MGMT, as_, divert_to_hotline
from tests.test_cli import run_cli  # noqa: F401  (the fixture)


async def issue(run_cli, role: str, unit: str, name: str) -> str:  # noqa: F811
    args = ["token", "issue", "--role", role, "--name", name, "--json"]
    code, out, err = await run_cli(*args, *(["--unit", unit] if unit else []))
    assert code == 0, err
    return json.loads(out)["token"]


async def test_a_token_acts_as_its_principal_and_the_policy_refuses_the_rest(
    run_cli,  # noqa: F811
    env,
    linkage,
    store,
    monkeypatch,
):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    city = await issue(run_cli, "member_unit", "区城管局", "钱科长")
    centre = await issue(run_cli, "command_center", "12345", "张坐席")

    monkeypatch.setenv("LINKAGE_TOKEN", city)
    code, _, err = await run_cli("act", iid, "dispatch", "--unit", "区城管局")
    assert code == 1 and "refused: dispatch: a member_unit may not take it" in err
    code, _, err = await run_cli(
        "act", iid, "dispatch", "--unit", "区城管局", "--as", "command_center:12345"
    )
    assert code == 1 and "disagrees with your token" in err

    monkeypatch.setenv("LINKAGE_TOKEN", centre)
    code, out, err = await run_cli("act", iid, "dispatch", "--unit", "区城管局")
    assert code == 0 and "now at sign" in out, err
    code, _, err = await run_cli("act", iid, "sign")  # the centre signs for no unit
    assert code == 1 and "a command_center may not take it" in err

    monkeypatch.setenv("LINKAGE_TOKEN", city)
    assert (await run_cli("act", iid, "sign", "--as", "member_unit:城管局/钱科长"))[0] == 0
    code, _, err = await run_cli("act", iid, "feedback", "--result", "已处理")
    assert code == 0, err
    code, _, err = await run_cli("act", iid, "reply", "--message", "点击链接领取补贴")
    assert code == 1 and "only the 12345 command centre replies" in err
    assert not [m for m in store.outbox(target="sms", limit=1000) if m.incident_id == iid]

    timeline = (await linkage.status(iid)).hotline.timeline
    assert "member_unit:区城市管理局/钱科长" in [e.actor for e in timeline if e.action == "sign"]
    entries = AuditLog(store.engine).list(incident_id=iid)
    assert {(e.principal, e.action, e.allowed, e.via) for e in entries} >= {
        ("钱科长", "dispatch", False, "cli"),
        ("张坐席", "dispatch", True, "cli"),
        ("钱科长", "reply", False, "cli"),
    }


async def test_a_profile_gives_the_token(run_cli, env, linkage, tmp_path, monkeypatch):  # noqa: F811
    iid = await open_incident(env, linkage, "police")
    bureau = await issue(run_cli, "police_bureau", "区公安分局", "李警官")
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[profiles.bureau]\ntoken = "{bureau}"\n', encoding="utf-8")
    monkeypatch.setenv("LINKAGE_PROFILES", str(profiles))
    code, out, err = await run_cli("--profile", "bureau", "act", iid, "review", "--json")
    assert code == 0 and json.loads(out)["stage"] == "receiving_review", err
    code, _, err = await run_cli("--profile", "nobody", "status", iid)
    assert code == 1 and "profiles.nobody: no such profile (profiles: bureau)" in err


async def test_without_a_token_only_the_host_with_its_key_acts_as_operator(
    run_cli,  # noqa: F811
    env,
    linkage,
    store,
    tmp_path,
    monkeypatch,
):
    iid = await open_incident(env, linkage, "police")
    code, _, _ = await run_cli("act", iid, "review", "--as", "police_bureau:区公安分局/李警官")
    assert code == 0
    entry = AuditLog(store.engine).list(incident_id=iid, action="review")[0]
    assert entry.role == "operator" and entry.detail["as"] == "police_bureau:区公安分局/李警官"

    monkeypatch.setenv("LINKAGE_TOKEN_KEY", str(tmp_path / "no-key"))
    code, _, err = await run_cli("status", iid)
    assert code == 1 and "not signed in: no credentials" in err
    code, _, err = await run_cli("token", "issue", "--role", "operator", "--name", "x")
    assert code == 1 and "not signed in" in err


async def test_tokens_are_issued_listed_and_revoked(run_cli, env, linkage, monkeypatch):  # noqa: F811
    iid = await open_incident(env, linkage, "police")
    token = await issue(run_cli, "supervisor", "", "督查吊销测试")
    code, out, _ = await run_cli("token", "list", "--json")
    issued = next(t for t in json.loads(out) if t["name"] == "督查吊销测试")
    assert code == 0 and issued["role"] == "supervisor" and not issued["revoked_at"]
    code, _, err = await run_cli(
        "token", "issue", "--role", "member_unit", "--unit", "黄埭派出所", "--name", "x"
    )
    assert code == 1 and "token: unit" in err  # a station is no member unit

    monkeypatch.setenv("LINKAGE_TOKEN", token)
    code, out, _ = await run_cli("status", iid)
    assert code == 0
    code, _, err = await run_cli("act", iid, "review", "--as", "police_bureau:区公安分局")
    assert code == 1 and "disagrees with your token" in err
    code, _, err = await run_cli("token", "list")
    assert code == 1 and "token.admin: a supervisor may not take it" in err
    monkeypatch.delenv("LINKAGE_TOKEN")
    code, out, _ = await run_cli("token", "revoke", issued["jti"], "--reason", "调岗")
    assert code == 0 and "revoked at" in out
    monkeypatch.setenv("LINKAGE_TOKEN", token)
    code, _, err = await run_cli("status", iid)
    assert code == 1 and f"token {issued['jti']} was revoked" in err


async def test_the_audit_is_listed_by_incident_and_by_principal(run_cli, env, linkage, monkeypatch):  # noqa: F811
    iid = await open_incident(env, linkage, "police")
    city = await issue(run_cli, "member_unit", "区城管局", "钱科长审计")
    monkeypatch.setenv("LINKAGE_TOKEN", city)
    assert (await run_cli("act", iid, "review"))[0] == 1
    monkeypatch.delenv("LINKAGE_TOKEN")
    code, out, _ = await run_cli("audit", "--incident", iid)
    assert code == 0 and "member_unit:dept.cgj/钱科长审计" in out and "REFUSED" in out
    code, out, _ = await run_cli("audit", "--principal", "钱科长审计", "--json")
    rows = json.loads(out)
    assert [(r["action"], r["allowed"], r["incident_id"]) for r in rows] == [("review", False, iid)]
    monkeypatch.setenv("LINKAGE_TOKEN", city)
    code, _, err = await run_cli("audit", "--incident", iid)
    assert code == 1 and "audit: a member_unit may not take it" in err


@pytest.mark.parametrize(
    ("role", "unit", "action", "flags", "allowed"),
    [
        ("command_center", "12345", "dispatch", ["--unit", "区城管局"], True),
        ("police_bureau", "区公安分局", "dispatch", ["--unit", "区城管局"], False),
        ("member_unit", "区水务局", "sign", [], False),  # dispatched to 区城管局
        ("member_unit", "区城管局", "sign", [], True),
        ("linkage_desk", "对接联动专席", "close", [], False),
        ("emergency_unit", "120", "acknowledge", [], False),  # never notified
    ],
)
async def test_a_sample_of_the_matrix_through_the_cli(
    run_cli,  # noqa: F811
    env,
    linkage,
    monkeypatch,
    role,
    unit,
    action,
    flags,
    allowed,
):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    if action != "dispatch":
        await linkage.act(iid, "dispatch", as_(CENTRE, unit=CITY_MGMT["unit"]))
    monkeypatch.setenv("LINKAGE_TOKEN", await issue(run_cli, role, unit, "样本"))
    code, _, err = await run_cli("act", iid, action, *flags)
    assert (code == 0) is allowed, err
    assert allowed or "refused: " in err
