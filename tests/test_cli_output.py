"""What the command line shows: each action's own help, times in the district's zone (ISO with
the offset in --json), and the outbox's short form of each message with personal data masked."""

import json
from datetime import datetime

import pytest

from linkage.domain.action_specs import ACTIONS
from linkage.domain.models import Role
from linkage.domain.outbox_content import outbox_content
from linkage.interfaces.cli.act_options import OPTIONS, fields_of, required
from linkage.settings.logs import mask_text
from tests import test_cli
from tests.conftest import eventually, open_incident

run_cli = test_cli.run_cli  # the fixture, shared with the first CLI tests


async def test_an_action_help_shows_its_own_flags_and_who_may_take_it(run_cli, capsys):
    for argv in (["act", "extend", "--help"], ["act", "police-JJ1", "extend", "-h"]):
        code, out, _ = await run_cli(*argv)
        assert code == 0
        required_part, optional_part = out.split("\nrequired:")[1].split("\noptional:")
        assert "--as" in optional_part and "--hours" in required_part  # a token names the actor
        assert "--reason" in required_part and "--note" in optional_part
        for other in ("--message", "--outcome", "--units", "--divert-reason", "--whistle"):
            assert other not in out
        assert "who may take it: member_unit (成员单位" in out

    code, out, _ = await run_cli("act", "whistle-plan", "--help")
    assert code == 0 and "--whistle N" in out and "--note" in out.split("\noptional:")[0]
    with pytest.raises(SystemExit) as exit_info:  # argparse's own help
        await run_cli("act", "--help")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.split("actions:\n")[1].splitlines()[: len(ACTIONS)]]
    assert listed == list(ACTIONS) and "--hours HOURS" not in out  # each action has its own


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_says_who_may_take_it_and_which_flags_it_needs(name):
    spec = ACTIONS[name]
    assert spec.who and (any(role.value in spec.who for role in Role) or name == "report-in"), (
        f"{name} says nobody may take it"
    )
    for field in spec.needs:
        assert field in fields_of(spec), f"{name} needs {field}, which is not one of its flags"
    flags = {OPTIONS[f].flag for f in fields_of(spec) if required(spec, f)}
    for flag in flags:  # the one-line help in `linkage act --help` names what must be given
        assert flag in spec.help, (name, flag)


async def test_times_are_in_the_district_zone_and_iso_with_offset_in_json(
    run_cli,
    env,
    linkage,
    monkeypatch,
):
    monkeypatch.setenv("LINKAGE_TZ", "Asia/Tokyo")  # neither UTC nor the default: it must show
    iid = await open_incident(
        env, linkage, "police", location={"address": "望亭镇迎湖村1号", "township": "望亭镇"}
    )

    async def listed():
        code, out, _ = await run_cli("list", "--township", "望亭镇", "--json")
        rows = [r for r in json.loads(out) if r["incident_id"] == iid]
        assert code == 0 and rows
        return rows[0]

    started = (await eventually(listed))["started"]
    assert started.endswith("+09:00")
    code, out, _ = await run_cli("list", "--township", "望亭镇")
    row = next(line for line in out.splitlines() if line.startswith(iid))
    assert datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M") in row and "+00:00" not in row

    code, out, _ = await run_cli("status", iid, "--json")
    entry = json.loads(out)["incident"]["timeline"][0]
    assert entry["at"].endswith("+09:00")
    code, out, _ = await run_cli("status", iid)
    assert datetime.fromisoformat(entry["at"]).strftime("%Y-%m-%d %H:%M") in out

    pushed = await open_incident(env, linkage, "hotline")  # pushed to police at once

    async def in_outbox():
        code, out, _ = await run_cli("outbox", "--json", "--limit", "1000")
        rows = [r for r in json.loads(out) if r["incident_id"] == pushed]
        assert code == 0 and rows
        return rows[0]

    assert (await eventually(in_outbox))["created_at"].endswith("+09:00")


async def test_the_outbox_shows_what_goes_out_with_personal_data_masked(run_cli, env, linkage):
    description = "王小明称邻居打架斗殴还在打，回电（0512）65551234或１３９.１２３４.５６７８"
    iid = await open_incident(env, linkage, "hotline", description=description)
    key = f"{iid}:incident"

    async def pushed():
        code, out, _ = await run_cli("outbox", "--target", "police", "--limit", "1000")
        line = next((line for line in out.splitlines() if line.startswith(key)), None)
        assert code == 0 and line is not None
        return line

    line = await eventually(pushed)
    assert f"推送 push {iid}: 其他紧急求助 王**称邻居打架斗殴还在打" in line
    for secret in ("小明", "65551234", "6555", "1234.5678", "１２３４"):
        assert secret not in line, secret
    assert "回电（0512）****1234或139****5678" in line


def test_the_short_form_of_each_kind_of_message():
    result = {
        "owner": "hotline",
        "police": None,
        "hotline": {"feedback": "摊位已清理，联系人李四 13912345678"},
    }
    assert outbox_content("result", "police-JJ1", result) == (
        "结果回推 result police-JJ1: hotline: 摊位已清理，联系人李* 139****5678"
    )
    sms = {"phone": "13912345678", "message": "您反映的问题已处理" * 10}
    text = outbox_content("reply", "police-JJ1", sms)
    assert text.startswith("回复 reply police-JJ1: → 139****5678 您反映的问题已处理")
    assert len(text.split(": ", 1)[1]) == 60 and text.endswith("…")
    notice = {"unit_name": "区急救中心", "address": "黄埭镇春申路88号", "description": "有人受伤"}
    assert outbox_content("emergency_notice", "hotline-GD1", notice) == (
        "应急联动 notice hotline-GD1: 区急救中心 黄埭镇春申路88号 有人受伤"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("0512 65551234", "0512 ****1234"),
        ("(0512)65551234", "(0512)****1234"),
        ("（0512）65551234", "（0512）****1234"),
        ("0512-65551234", "0512-****1234"),
        ("139.1234.5678", "139****5678"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("１３９１２３４５６７８", "139****5678"),
        ("身份证３２０５０７１９９００１０１１２３４", "身份证320507********1234"),
        (
            "工单 GD20261129017 于 2026-11-29 09:30 派遣",
            "工单 GD20261129017 于 2026-11-29 09:30 派遣",
        ),
    ],
)
def test_phone_numbers_in_every_usual_format_are_masked(text, masked):
    assert mask_text(text) == masked
