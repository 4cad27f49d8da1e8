"""What an attacker tried at the front door (the API and the CLI), each refused with the field
and the bad value named, and nothing started: a phone number as a township, text where a number
belongs, a loop's ID as an incident's, JSON nested without end, a file without end, and codes
the district's register does not know."""

# ruff: noqa: F811  (the API fixtures are imported by name)
from __future__ import annotations

import asyncio
import io
import json

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter

from linkage.client import LinkageError, parse_report
from linkage.domain import actions as act
from linkage.domain.models import IncidentReport, incident_id_for
from linkage.interfaces.cli import common
from linkage.interfaces.cli import main as cli
from tests.conftest import TASK_QUEUE, make_report, open_incident, started_loop
from tests.parties import BUREAU, CENTRE, as_, divert_to_hotline
from tests.test_api import api, bearer, tokens  # noqa: F401  (fixtures)
from tests.test_bad_input import assert_not_started

PHONE = "13912345678"


def converted(value, kind):
    converter = pydantic_data_converter.payload_converter
    return converter.from_payloads(converter.to_payloads([value]), [kind])[0]


# --- 1 and 6: townships and codes against the register ---------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("location.township", PHONE),
        ("location.township", "火星镇"),
        ("category", "不是一个类别"),
        ("category", "H99"),
        ("originating_unit", "区城管剧"),
    ],
)
def test_a_code_the_register_does_not_know_is_refused_naming_field_and_value(field, value):
    data = make_report("police", originating_unit="黄埭派出所")
    if field == "location.township":
        data["location"]["township"] = value
    else:
        data[field] = value
    with pytest.raises(LinkageError) as refused:
        parse_report(data)
    assert f"report: {field}: " in str(refused.value) and value in str(refused.value)


def test_every_bad_code_of_a_report_is_named_at_once():
    data = make_report("police", category="H99", originating_unit="区城管剧", joint="yes")
    data["location"]["township"] = PHONE
    with pytest.raises(LinkageError) as refused:
        parse_report(data)
    named = {line.split(": ")[1] for line in str(refused.value).splitlines()}
    assert named == {"location.township", "category", "joint", "originating_unit"}


@pytest.mark.parametrize(
    ("township", "stored"),
    [
        ("黄埭镇", "黄埭镇"),
        ("黄埭", "黄埭镇"),
        (" 元和 ", "元和街道"),
        ("黄埭镇人民政府", "黄埭镇"),
    ],
)
def test_a_township_is_stored_as_the_registers_name(township, stored):
    data = make_report("police")
    data["location"]["township"] = township
    assert parse_report(data).location.township == stored


@pytest.mark.parametrize(
    ("category", "stored"),
    [("市容管理", "市容管理"), ("H02", "市容管理"), ("P04", "治安灾害事故"), ("", "")],
)
def test_a_category_is_stored_as_the_catalogues_name(category, stored):
    assert parse_report(make_report("police", category=category)).category == stored


def test_an_old_history_with_codes_the_register_no_longer_knows_still_decodes():
    report = IncidentReport.model_validate(make_report("police", category="H99"))
    old = report.model_copy(
        update={"location": report.location.model_copy(update={"township": "旧镇名"})}
    )
    assert converted(old, IncidentReport) == old
    decision = act.TriageDecisionAction(
        actor=BUREAU, direction="police", subcategory="X9", reason="旧的决定"
    )
    assert converted(decision, act.TriageDecisionAction).subcategory == "X9"


# --- 2: numbers are numbers ------------------------------------------------------------------


async def test_a_whistles_deadline_as_text_is_refused_and_none_is_blown(api, tokens, env, linkage):
    centre = bearer(tokens.party("command_center"))
    iid = await open_incident(env, linkage, "police")
    for field, value in (
        ("deadline_hours", "2"),
        ("deadline_hours", True),
        ("deadline_hours", "NaN"),
        ("deadline_hour", 2),  # a field misspelt is not dropped unread
    ):
        body = {"reason": "群众聚集", "units": ["区城管局"], field: value}
        answer = await api.post(f"/incidents/{iid}/whistle", json=body, headers=centre)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
    assert (await linkage.status(iid)).incident.whistles == []


# --- 3: a loop's or an escalation's ID is no incident's ---------------------------------------


async def test_a_loops_id_as_an_incident_id_is_refused_naming_the_field(api, tokens, env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await started_loop(env, iid, "hotline")
    await linkage.whistle(iid, as_(CENTRE, reason="群众聚集", units=["区城管局"]))
    bureau, centre = bearer(tokens.party("police_bureau")), bearer(tokens.party("command_center"))
    for other in (f"{iid}.hotline", f"{iid}.police", f"{iid}.whistle-1", f"{iid}.emergency-1"):
        for answer in (
            await api.get(f"/incidents/{other}", headers=centre),
            await api.post(f"/incidents/{other}/actions/sign", json={}, headers=centre),
            await api.post(f"/incidents/{other}/actions/review", json={}, headers=bureau),
            await api.post(
                f"/incidents/{other}/whistle",
                json={"reason": "苗头", "units": ["城管"]},
                headers=centre,
            ),
        ):
            assert answer.status_code in (404, 422), answer.text
            assert answer.json()["error"]["field"] == "incident_id"
            assert other in answer.json()["error"]["message"]
    with pytest.raises(LinkageError, match=rf"incident_id: {iid}\.hotline is .*{iid}"):
        await linkage.status(f"{iid}.hotline")


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def run_cli(env, worker, store, monkeypatch, capsys):
    """`linkage ARGS...` against the test server: (exit code, stdout, stderr)."""
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.url)

    async def run(*args: str):
        code = await asyncio.to_thread(cli.run, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_the_cli_refuses_a_loops_id_without_a_traceback(run_cli, env, linkage):
    iid = await open_incident(env, linkage, "police")
    await linkage.act(iid, "send-back", as_(BUREAU, reason="推送原因不充分"))
    code, out, err = await run_cli("status", f"{iid}.police")
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"incident_id: {iid}.police is" in err
    code, _, err = await run_cli(
        "act", f"{iid}.police", "review", "--as", "police_bureau:区公安分局"
    )
    assert code == 1 and "incident_id" in err and "Traceback" not in err


async def test_the_cli_refuses_a_phone_number_as_a_township_and_starts_nothing(
    run_cli, linkage, store, tmp_path
):
    report = make_report("police")
    report["location"]["township"] = PHONE
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    code, _, err = await run_cli("divert", str(path))
    assert code == 1 and f"report: location.township: Value error, {PHONE!r}" in err
    await assert_not_started(linkage, store, incident_id_for("police", report["reference"]))


async def test_a_subcategory_the_catalogue_does_not_know_is_refused_at_the_door(
    api,
    tokens,
    env,
    linkage,
):
    iid = await open_incident(env, linkage, "hotline", description="喂，你好，我想说个事情")
    desk = bearer(tokens.party("linkage_desk"))
    body = {"direction": "police", "subcategory": "X9", "reason": "核实"}
    answer = await api.post(f"/incidents/{iid}/actions/triage-decide", json=body, headers=desk)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "subcategory" and "X9" in answer.text


async def test_the_list_refuses_a_township_or_category_the_register_does_not_know(api, tokens):
    bureau = bearer(tokens.party("police_bureau"))
    for field, value in (("township", PHONE), ("category", "H99")):
        answer = await api.get("/incidents", params={field: value}, headers=bureau)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field and value in answer.text


async def test_the_api_says_why_it_cannot_read_a_body(api, tokens):
    centre = {**bearer(tokens.party("command_center")), "Content-Type": "application/json"}
    for body, why in (
        ("[" * 5000 + "]" * 5000, "body: JSON nested too deeply"),
        ('{"joint": ' + "9" * 5000 + "}", "body: not valid JSON: Exceeds the limit"),
    ):
        answer = await api.post("/reports", content=body, headers=centre)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == "body" and why in answer.text


def test_a_reports_unit_is_the_registers_or_nothing_is_read_or_written(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("LINKAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    out = tmp_path / "reports"
    for argv in (
        ["report", "monthly", "--unit", "../../escaped", "--out", str(out)],
        ["report", "evidence", "--unit", "区城管剧"],
    ):
        code = cli.run(argv)
        err = capsys.readouterr().err
        assert code == 1 and f"report: --unit: {argv[3]} is not a unit" in err, err
    assert not out.exists() and not (tmp_path / "records.db").exists()


# --- what else gave a 5xx ---------------------------------------------------------------------


async def test_a_time_near_the_year_1_or_9999_is_a_422_not_a_500(api, tokens):
    bureau = bearer(tokens.party("police_bureau"))
    for field, value in (("since", "0001-01-01"), ("until", "9999-12-31T23:59:59-12:00")):
        answer = await api.get("/incidents", params={field: value}, headers=bureau)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field and value in answer.text


async def test_a_nul_in_a_filter_or_key_is_a_422_before_the_records_are_asked(api, tokens):
    supervisor = bearer(tokens.party("supervisor"))
    for field in ("incident", "principal", "action"):
        answer = await api.get("/audit", params={field: "police-\x00JJ1"}, headers=supervisor)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == field
    centre = bearer(tokens.party("command_center"))
    answer = await api.post("/outbox/police-JJ1%00:result/ack", headers=centre)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "key"


async def test_the_cli_refuses_a_time_out_of_range_without_a_traceback(run_cli):
    code, _, err = await run_cli("list", "--until", "9999-12-31")
    assert code == 1 and "--until: '9999-12-31' is too near" in err and "Traceback" not in err


# --- 4 and 5: input without end -------------------------------------------------------------


def test_deeply_nested_json_is_refused(tmp_path):
    for depth in (common.MAX_DEPTH + 1, 100_000):
        path = tmp_path / f"deep-{depth}.json"
        path.write_text("[" * depth + "]" * depth, encoding="utf-8")
        with pytest.raises(
            LinkageError, match=rf"{path}: JSON nested deeper than {common.MAX_DEPTH}"
        ):
            common.read_json(str(path))


def test_a_number_of_thousands_of_digits_is_refused(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('{"joint": ' + "9" * 5000 + "}", encoding="utf-8")
    with pytest.raises(LinkageError, match=rf"{path}: not valid JSON: .*digits"):
        common.read_json(str(path))


def test_a_file_without_end_is_read_with_a_bound():
    with pytest.raises(
        LinkageError, match=rf"/dev/zero: larger than {common.MAX_INPUT_BYTES} bytes"
    ):
        common.read_json("/dev/zero")


def test_standard_input_is_read_with_a_bound(monkeypatch):
    endless = io.TextIOWrapper(io.BytesIO(b" " * (common.MAX_INPUT_BYTES + 10)), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", endless)
    with pytest.raises(
        LinkageError, match=rf"standard input: larger than {common.MAX_INPUT_BYTES}"
    ):
        common.read_json("-")


def test_the_cli_says_what_is_wrong_with_an_endless_or_deep_file(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("{" + '"a":{' * 50_000 + "}" * 50_001, encoding="utf-8")
    for path in ("/dev/zero", str(deep)):
        code = cli.run(["divert", path])
        _, err = capsys.readouterr()
        assert code == 1 and err.startswith(f"linkage: {path}: ") and "Traceback" not in err


def test_triage_lines_are_read_with_a_bound(monkeypatch, capsys):
    from linkage.interfaces.cli.triage import MAX_LINE_BYTES

    lines = [
        json.dumps({"id": "a", "text": "路灯坏了好几天"}, ensure_ascii=False),
        "x" * (MAX_LINE_BYTES + 5),
        "[" * 50_000,
        "[" * 40 + "]" * 40,
        json.dumps({"id": "d", "text": "楼下饭店油烟太大"}, ensure_ascii=False),
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = cli.run(["triage", "-"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and [o.get("id") for o in out] == ["a", None, None, None, "d"]
    assert f"longer than {MAX_LINE_BYTES} bytes" in out[1]["error"]
    assert "nested deeper" in out[2]["error"] and "nested deeper" in out[3]["error"]
    assert "error" not in out[0] and "error" not in out[4]
