"""The `linkage` command line, as a platform's script or a person would use it."""

import asyncio
import json

import pytest
from temporalio.service import RPCError

from linkage.client import LinkageError
from linkage.interfaces.cli import main as cli
from tests.conftest import TASK_QUEUE, eventually, make_report


@pytest.fixture
def run_cli(env, worker, store, monkeypatch, capsys):
    """Run `linkage ARGS...` against the test server; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.url)

    async def run(*args: str, stdin: str | None = None):
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(cli.run, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_divert_act_status_and_list(run_cli, tmp_path):
    report = make_report("police", location={"address": "望亭镇迎湖村", "township": "望亭镇"})
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")

    code, out, _ = await run_cli("divert", str(path))
    iid = out.strip()
    assert code == 0 and iid == f"police-{report['reference']}"
    code, out, _ = await run_cli("divert", "-", "--json", stdin=json.dumps(report))
    again = json.loads(out)
    assert code == 0 and again["incident_id"] == iid and not again["new"]
    assert again["reports"] == 1 and again["resent"]  # the same push again: counted once

    code, out, err = await run_cli("act", iid, "accept", "--as", "command_center:区集成指挥中心")
    assert code == 1 and "accept refused" in err and "推送审核 (sending_review)" in err
    code, out, _ = await run_cli(
        "act", iid, "review", "--as", "police_bureau:区公安分局/李警官", "--json"
    )
    assert code == 0 and json.loads(out)["stage"] == "receiving_review"
    assert (await run_cli("act", iid, "accept", "--as", "command_center:区集成指挥中心"))[0] == 0
    code, out, _ = await run_cli(
        "act", iid, "dispatch", "--as", "command_center:区集成指挥中心", "--unit", "望亭镇政府"
    )
    assert code == 0 and "now at sign" in out

    code, out, _ = await run_cli("status", iid)
    assert code == 0
    assert "处置中 handling" in out and "12345 loop" in out and "签收时限" in out
    assert "Timeline 时间线" in out and "派遣至 望亭镇人民政府" in out
    assert report["caller"]["phone"] not in out and "王小明" not in out
    code, out, _ = await run_cli("status", iid, "--json")
    status = json.loads(out)
    assert status["hotline"]["unit"] == "town.wangting" and status["incident"]["pushes"] == 1

    async def listed():
        code, out, _ = await run_cli(
            "list", "--township", "望亭镇", "--stage", "handling", "--json"
        )
        rows = json.loads(out)
        assert code == 0 and [r["incident_id"] for r in rows] == [iid]
        return rows[0]

    row = await eventually(listed)
    assert row["owner"] == "hotline" and row["origin"] == "police"


async def test_a_malformed_report_names_each_field_and_starts_nothing(run_cli, linkage, tmp_path):
    report = make_report("police")
    report["caller"]["phone"] = "call me"
    report["received_at"] = "2026-11-29T09:30:00"  # no time zone
    del report["divert_reason"]
    report["urgency"] = "whenever"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report, ensure_ascii=False))
    code, out, err = await run_cli("divert", str(path))
    assert code == 1 and out == ""
    assert "report: caller.phone: Value error, must be a telephone number" in err
    assert "report: received_at: Value error, must carry a time zone" in err
    assert "report: divert_reason: Field required" in err
    assert "report: urgency: Input should be 'routine', 'urgent' or 'emergency'" in err
    with pytest.raises(RPCError):
        await linkage.client.get_workflow_handle(f"police-{report['reference']}").describe()

    code, _, err = await run_cli("divert", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err
    code, _, err = await run_cli("divert", "-", stdin="{not json")
    assert code == 1 and "not valid JSON" in err
    with pytest.raises(LinkageError, match="report: reference: String should match pattern"):
        await linkage.divert({**make_report("hotline"), "reference": "../etc"})


async def test_usage_mistakes_are_explained(run_cli):
    with pytest.raises(SystemExit) as exit_info:
        await run_cli("act", "police-JJ1", "sign", "--as", "mayor:市政府")
    assert exit_info.value.code == 2
    code, _, err = await run_cli(
        "act", "police-JJ1", "sign", "--as", "member_unit:区城管局", "--hours", "3"
    )
    assert code == 1 and "sign does not take --hours" in err
    code, _, err = await run_cli("status", "police-NOPE-404")
    assert code == 1 and "no incident police-NOPE-404" in err


async def test_outbox_lists_and_acknowledges(run_cli, linkage, env):
    from tests.conftest import open_incident
    from tests.parties import BUREAU, as_

    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    key = f"{iid}:incident"

    async def pending():
        code, out, _ = await run_cli(
            "outbox", "--target", "police", "--status", "pending", "--json"
        )
        assert key in [m["id"] for m in json.loads(out)]

    await eventually(pending)
    code, out, _ = await run_cli("outbox", "--ack", key)
    assert code == 0 and "delivered" in out
    code, out, _ = await run_cli("outbox", "--status", "delivered")
    assert key in out
    code, _, err = await run_cli("outbox", "--ack", "no-such-key")
    assert code == 1 and "no outbox message no-such-key" in err


async def test_whistle_from_the_command_line(run_cli, linkage, env):
    from tests.conftest import open_incident

    iid = await open_incident(env, linkage, "hotline")
    code, out, _ = await run_cli(
        "whistle",
        iid,
        "--as",
        "police_bureau:区公安分局/值班长",
        "--reason",
        "群体性事件苗头",
        "--units",
        "黄埭镇政府，区城管局",
    )
    assert code == 0 and "summoned 黄埭镇政府、区城管局" in out
    code, _, err = await run_cli(
        "whistle", iid, "--as", "member_unit:区城管局", "--reason", "想吹哨", "--units", "区城管局"
    )
    assert code == 1 and "duty officer" in err

    async def reported():
        code, out, err = await run_cli(
            "act", iid, "report-in", "--as", "member_unit:区城管局", "--json"
        )
        assert code == 0, err
        return json.loads(out)

    state = await eventually(reported)
    assert list(state["reported"]) == ["dept.cgj"]
    code, _, err = await run_cli("act", iid, "report-in", "--as", "member_unit:区水务局")
    assert code == 1 and "区水务局 was not summoned by an open whistle" in err  # the policy
    code, out, _ = await run_cli("status", iid)
    assert (
        "whistle 吹哨 #1 (open 进行中): 群体性事件苗头" in out
        and "waiting 未报到 黄埭镇人民政府" in out
    )


async def test_a_district_can_turn_on_the_joint_handling_rule(env, linkage, tmp_path, monkeypatch):
    import shutil

    from linkage.settings.paths import config_dir
    from tests.conftest import open_incident
    from tests.parties import BUREAU, CENTRE, as_

    shutil.copytree(config_dir(), tmp_path / "config")
    table = tmp_path / "config" / "time-limits.toml"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("enabled = false", "enabled = true"), encoding="utf-8")
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(tmp_path / "config"))

    iid = await open_incident(env, linkage, "police", joint=True)
    await linkage.act(iid, "review", as_(BUREAU))
    await linkage.act(iid, "accept", as_(CENTRE))

    async def whistled():
        state = (await linkage.status(iid)).incident
        assert state.whistles and state.whistles[0].blown_by == "rule:joint_handling"

    await eventually(whistled)
