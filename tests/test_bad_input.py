"""Bad input is refused before anything starts: the field is named, no workflow exists, no row.

Reports and actions are checked where they arrive: control characters, line breaks in one-line
fields, times without an offset or far from now, text where a yes/no or a number belongs, and
unknown fields. Temporal decoding the same models again (a replay, weeks later) ignores unknown
fields and never looks at the clock.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from linkage.client import LinkageClient, LinkageError, parse_report
from linkage.domain import actions as act
from linkage.domain.contract import from_edge
from linkage.domain.models import (
    Actor,
    IncidentReport,
    Platform,
    Urgency,
    check_report_window,
    incident_id_for,
)
from linkage.domain.text import normalise_id_number, normalise_phone
from linkage.domain.time_limits import load_time_limits
from linkage.interfaces.cli import main as cli
from linkage.records.store import Store
from linkage.records.tables import Incident
from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir
from tests.conftest import CST, TASK_QUEUE, make_report, own_worker


def recent(**delta) -> str:
    """A received_at the window accepts: an hour ago unless told otherwise."""
    return (datetime.now(CST) - timedelta(**(delta or {"hours": 1}))).isoformat()


def report(origin: str = "police", **overrides) -> dict:
    return make_report(origin, **{"received_at": recent(), **overrides})


def with_value(path: str, value) -> callable:
    """`value` may be a function: called when the test runs (a time relative to now must not be
    taken when the suite is collected, long before)."""

    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value() if callable(value) else value

    return change


def without(path: str) -> callable:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        del data[last]

    return change


def future(**delta):
    """A time this far from the moment the test runs."""
    return lambda: (datetime.now(UTC) + timedelta(**delta)).isoformat()


# (what is wrong, how to make it so, the field the message names)
MALFORMED = [
    # control characters: NUL, ESC, BEL, DEL, C1, bidirectional overrides
    ("nul in description", with_value("description", "有人占道\x00经营摆摊"), "description"),
    ("esc in name", with_value("caller.name", "王\x1b[31m小明"), "caller.name"),
    ("bell in township", with_value("location.township", "黄埭\x07镇"), "location.township"),
    ("del in address", with_value("location.address", "春申路\x7f12号"), "location.address"),
    ("c1 csi in address", with_value("location.address", "春申路\x9b12号"), "location.address"),
    ("esc in divert_reason", with_value("divert_reason", "非警务类\x1b[2J"), "divert_reason"),
    ("nul in unit", with_value("originating_unit", "黄埭\x00派出所"), "originating_unit"),
    ("vertical tab in category", with_value("category", "市容\x0b管理"), "category"),
    ("form feed in description", with_value("description", "占道经营\x0c摆摊堵路"), "description"),
    ("nul in phone", with_value("caller.phone", "139\x0012345678"), "caller.phone"),
    ("esc in id number", with_value("caller.id_number", "3205\x1b0719"), "caller.id_number"),
    ("rtl override in name", with_value("caller.name", "王\u202e明小"), "caller.name"),
    ("backspace in reason", with_value("divert_reason", "非警务\x08类"), "divert_reason"),
    # line breaks (and tabs) in one-line fields
    ("newline in township", with_value("location.township", "黄埭镇\n渭塘镇"), "location.township"),
    ("cr in township", with_value("location.township", "黄埭\r镇"), "location.township"),
    ("newline in address", with_value("location.address", "春申路\n12号"), "location.address"),
    ("newline in name", with_value("caller.name", "王小明\n李四"), "caller.name"),
    ("newline in unit", with_value("originating_unit", "黄埭\n派出所"), "originating_unit"),
    ("tab in township", with_value("location.township", "黄埭\t镇"), "location.township"),
    ("line separator", with_value("location.address", "春申路\u202812号"), "location.address"),
    ("newline in reference", with_value("reference", "JJ2026\n1129"), "reference"),
    # times
    ("integer received_at", with_value("received_at", 1764600000), "received_at"),
    ("float received_at", with_value("received_at", 1764600000.5), "received_at"),
    ("epoch as text", with_value("received_at", "1764600000"), "received_at"),
    ("naive received_at", with_value("received_at", "2026-11-29T09:30:00"), "received_at"),
    ("date only", with_value("received_at", "2026-11-29"), "received_at"),
    ("words for a time", with_value("received_at", "yesterday morning"), "received_at"),
    ("bool received_at", with_value("received_at", True), "received_at"),
    ("null received_at", with_value("received_at", None), "received_at"),
    ("year 2099", with_value("received_at", "2099-11-29T09:30:00+08:00"), "received_at"),
    ("year 1900", with_value("received_at", "1900-01-01T00:00:00+08:00"), "received_at"),
    ("a day ahead", with_value("received_at", future(days=1)), "received_at"),
    ("half an hour ahead", with_value("received_at", future(minutes=30)), "received_at"),
    ("100 days ago", with_value("received_at", future(days=-100)), "received_at"),
    ("missing received_at", without("received_at"), "received_at"),
    # yes/no
    ("joint yes", with_value("joint", "yes"), "joint"),
    ("joint true as text", with_value("joint", "true"), "joint"),
    ("joint 1", with_value("joint", 1), "joint"),
    ("joint 0", with_value("joint", 0), "joint"),
    ("joint null", with_value("joint", None), "joint"),
    # enums
    ("unknown origin", with_value("origin", "fire"), "origin"),
    ("empty origin", with_value("origin", ""), "origin"),
    ("unknown urgency", with_value("urgency", "whenever"), "urgency"),
    ("urgency in capitals", with_value("urgency", "URGENT"), "urgency"),
    ("urgency as number", with_value("urgency", 2), "urgency"),
    # unknown fields
    ("unknown top-level field", with_value("priority", "high"), "priority"),
    ("unknown caller field", with_value("caller.nickname", "小王"), "caller.nickname"),
    ("unknown location field", with_value("location.gps", [31.4, 120.6]), "location.gps"),
    # missing or the wrong shape
    ("missing caller", without("caller"), "caller"),
    ("missing location", without("location"), "location"),
    ("missing description", without("description"), "description"),
    ("missing phone", without("caller.phone"), "caller.phone"),
    ("caller as text", with_value("caller", "王小明 13912345678"), "caller"),
    ("location as list", with_value("location", ["黄埭镇", "春申路"]), "location"),
    # phone numbers
    ("phone with letters", with_value("caller.phone", "139abc45678"), "caller.phone"),
    ("phone in words", with_value("caller.phone", "call me"), "caller.phone"),
    ("phone too short", with_value("caller.phone", "1234"), "caller.phone"),
    ("phone too long", with_value("caller.phone", "1" * 25), "caller.phone"),
    ("phone empty", with_value("caller.phone", ""), "caller.phone"),
    ("phone as number", with_value("caller.phone", 13912345678), "caller.phone"),
    ("phone only +86", with_value("caller.phone", "+86"), "caller.phone"),
    ("id number in words", with_value("caller.id_number", "身份证号码"), "caller.id_number"),
    ("id number too long", with_value("caller.id_number", "3" * 33), "caller.id_number"),
    # references
    ("reference with spaces", with_value("reference", "JJ 2026 1129"), "reference"),
    ("reference with slashes", with_value("reference", "JJ/2026/1129"), "reference"),
    ("reference climbing out", with_value("reference", "../etc"), "reference"),
    ("reference too short", with_value("reference", "J1"), "reference"),
    ("reference too long", with_value("reference", "J" * 41), "reference"),
    ("reference as number", with_value("reference", 20261129001), "reference"),
    # lengths, empty and whitespace-only text
    ("description too short", with_value("description", "打架"), "description"),
    ("description too long", with_value("description", "占" * 4001), "description"),
    ("description whitespace", with_value("description", " \u3000\n\t "), "description"),
    ("empty township", with_value("location.township", ""), "location.township"),
    ("township whitespace", with_value("location.township", "　　"), "location.township"),
    ("township too long", with_value("location.township", "镇" * 41), "location.township"),
    ("address one character", with_value("location.address", "路"), "location.address"),
    ("address too long", with_value("location.address", "路" * 201), "location.address"),
    ("name too long", with_value("caller.name", "王" * 65), "caller.name"),
    ("empty divert_reason", with_value("divert_reason", ""), "divert_reason"),
    ("reason too long", with_value("divert_reason", "因" * 501), "divert_reason"),
    ("category too long", with_value("category", "类" * 41), "category"),
    # the wrong types for text
    ("unit as number", with_value("originating_unit", 110), "originating_unit"),
    ("unit as list", with_value("originating_unit", ["黄埭派出所"]), "originating_unit"),
    ("description as dict", with_value("description", {"text": "占道"}), "description"),
    ("reason as number", with_value("divert_reason", 12345), "divert_reason"),
    ("township as bool", with_value("location.township", True), "location.township"),
    # codes the district's register lacks (routing.toml, units.toml, catalogue.toml)
    ("phone as township", with_value("location.township", "13912345678"), "location.township"),
    ("unknown township", with_value("location.township", "火星镇"), "location.township"),
    ("unknown category", with_value("category", "不是一个类别"), "category"),
    ("unknown category code", with_value("category", "H99"), "category"),
]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_report_is_refused_naming_the_field(change, field):
    data = report()
    change(data)
    with pytest.raises(LinkageError) as refused:
        parse_report(data)
    assert f"report: {field}: " in str(refused.value)


def test_there_are_fifty_kinds_of_malformed_report():
    assert len(MALFORMED) >= 50


def test_every_problem_of_a_report_is_named_at_once():
    data = report(priority="high", joint="yes")
    data["caller"].update(nickname="小王", phone="call me")
    data["location"]["township"] = "黄埭\n镇"
    with pytest.raises(LinkageError) as refused:
        parse_report(data)
    lines = str(refused.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "caller.phone",
        "caller.nickname",
        "location.township",
        "joint",
        "priority",
    ]
    assert "report: priority: unknown field; known: caller, category" in str(refused.value)


@pytest.mark.parametrize("document", [[], "a report", 12345, None])
def test_what_is_not_a_report_is_refused(document):
    with pytest.raises(LinkageError, match=r"report: \(whole document\): Input should be"):
        parse_report(document)


# --- what is accepted, and how it is stored --------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("+86 139 1234 5678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),
        ("0086-139-1234-5678", "13912345678"),
        ("+86-139-1234-5678", "13912345678"),
        ("１３９－１２３４－５６７８", "13912345678"),
        ("139 1234 5678", "13912345678"),
        ("0512-6555 1234", "051265551234"),
        ("(0512) 65551234", "051265551234"),
        ("+86 512 6555 1234", "051265551234"),
        ("+86 10 1234 5678", "01012345678"),
        ("+1 415 555 0100", "0014155550100"),
        ("12345", "12345"),
    ],
)
def test_phone_numbers_are_stored_as_digits(written, stored):
    assert normalise_phone(written) == stored
    data = report()
    data["caller"]["phone"] = written
    assert parse_report(data).caller.phone == stored


def test_text_is_normalised_before_anything_matches_on_it():
    data = report(
        "hotline",
        reference="ＪＪ２０２６１１２９００１",
        description="  来电反映：小区门口占道经营，堵住人行道！\r\n第二行\t说明…  ",
        originating_unit="阳澄湖镇人民政府(度假区管理办)",
    )
    data["caller"].update(name="　王小明　", id_number="３２０５０７ 1990 0101 123x")
    data["location"].update(address="春申路１２号　", township=" 黄埭镇 ")
    parsed = parse_report(data)
    assert parsed.reference == "JJ20261129001" and parsed.incident_id == "hotline-JJ20261129001"
    assert parsed.caller.name == "王小明"
    assert parsed.caller.id_number == "32050719900101123X"
    assert parsed.location.address == "春申路12号" and parsed.location.township == "黄埭镇"
    # A unit's name matches the register whatever its brackets; the code is kept.
    assert parsed.originating_unit == "town.yangchenghu"
    assert parsed.description == "来电反映：小区门口占道经营，堵住人行道！\n第二行\t说明…"
    assert normalise_id_number("320507199001011234") == "320507199001011234"


def test_normalising_twice_changes_nothing():
    data = report()
    data["caller"]["phone"] = "+86 139 1234 5678"
    once = parse_report(data)
    assert parse_report(once.model_dump(mode="json")) == once


@pytest.mark.parametrize(
    "received_at",
    [
        recent(minutes=1),
        recent(days=89),
        (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        datetime.now(CST) - timedelta(hours=2),
    ],
)
def test_a_time_with_an_offset_in_the_window_is_accepted(received_at):
    parsed = parse_report(report(received_at=received_at))
    assert parsed.received_at.utcoffset() is not None


def test_the_window_is_checked_at_the_edge_and_never_when_a_history_decodes():
    old = make_report("police", received_at="2026-01-05T08:00:00+08:00")
    # A report a year old decodes as Temporal would decode it in a replay, and so does a
    # model validated with the clock far ahead of today.
    model = IncidentReport.model_validate(old)
    payload = pydantic_data_converter.payload_converter.to_payloads([model])
    assert pydantic_data_converter.payload_converter.from_payloads(payload, [IncidentReport]) == [
        model
    ]
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    check_report_window(model, now)
    with pytest.raises(ValueError, match="received_at: .* more than 90 days ago"):
        check_report_window(model, now + timedelta(days=91))
    with pytest.raises(ValueError, match="received_at: .* in the future"):
        check_report_window(model, datetime(2026, 1, 4, 23, 0, tzinfo=UTC))


# --- Temporal decodes the same models ----------------------------------------------------------


ACTOR = {"role": "member_unit", "unit": "区城管局", "person": "钱科长"}


def round_trip(value, kind):
    converter = pydantic_data_converter.payload_converter
    [back] = converter.from_payloads(converter.to_payloads([value]), [kind])
    return back


def test_reports_and_actions_round_trip_through_the_data_converter():
    parsed = parse_report(report("hotline", urgency="emergency", joint=True))
    back = round_trip(parsed, IncidentReport)
    assert back == parsed
    assert back.received_at == parsed.received_at and back.received_at.utcoffset() is not None
    assert back.origin is Platform.hotline and back.urgency is Urgency.emergency
    assert back.joint is True
    for action in [
        act.ExtendAction(actor=ACTOR, hours=12, reason="需协调多个部门"),
        act.ReviewAction(actor=ACTOR, approve=False, reason="推送原因不充分\n请补正"),
        act.ResubmitAction(actor=ACTOR, withdraw=True),
        act.WhistleCall(actor=ACTOR, reason="群体性事件苗头", units=["区城管局"], deadline_hours=2),
        act.TriageDecisionAction(actor=ACTOR, direction="both", reason="涉及安全"),
    ]:
        assert round_trip(action, type(action)) == action


def test_a_payload_from_a_newer_worker_still_decodes():
    parsed = parse_report(report())
    data = parsed.model_dump(mode="json")
    data["priority"] = "high"
    data["caller"]["nickname"] = "小王"
    converter = pydantic_data_converter.payload_converter
    [payload] = converter.to_payloads([data])
    assert converter.from_payloads([payload], [IncidentReport]) == [parsed]
    [payload] = converter.to_payloads([{"actor": {**ACTOR, "badge": 7}, "approve": True, "x": 1}])
    assert converter.from_payloads([payload], [act.ReviewAction])[0].approve is True


# --- actions ---------------------------------------------------------------------------------


BAD_ACTIONS = [
    (act.ReviewAction, {"approve": "yes"}, "approve"),
    (act.ReviewAction, {"approve": 1}, "approve"),
    (act.ReceiveAction, {"accept": "true"}, "accept"),
    (act.ResubmitAction, {"withdraw": "no"}, "withdraw"),
    (act.ExtensionDecision, {"approve": None}, "approve"),
    (act.ExtendAction, {"hours": "2", "reason": "需协调"}, "hours"),
    (act.ExtendAction, {"hours": float("nan"), "reason": "需协调"}, "hours"),
    (act.ExtendAction, {"hours": float("inf"), "reason": "需协调"}, "hours"),
    (act.ExtendAction, {"hours": True, "reason": "需协调"}, "hours"),
    (
        act.WhistleCall,
        {"reason": "苗头", "units": ["区城管局"], "deadline_hours": "2"},
        "deadline_hours",
    ),
    (act.ReturnAction, {"reason": "非本\x00单位"}, "reason"),
    (act.FeedbackAction, {"result": "已处理\x1b[0m"}, "result"),
    (act.ReplyAction, {"message": "您好\x7f"}, "message"),
    (act.ReviewAction, {"approve": True, "note": "备注\x07"}, "note"),
    (act.DispatchAction, {"unit": "区城管局\n区水务局"}, "unit"),
    (act.CommandAction, {"unit": "黄埭\x00派出所"}, "unit"),
    (act.EmergencyLinkageAction, {"units": ["119", "1\x0020"]}, "units.1"),
    (act.WhistleCall, {"reason": "苗头", "units": ["区城管局\n区水务局"]}, "units.0"),
    (act.ReviewAction, {"approve": True, "request_id": "r\n1"}, "request_id"),
    (act.ReviewAction, {"approve": True, "reviewer": "李"}, "reviewer"),
]


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    BAD_ACTIONS,
    ids=[f"{m.__name__}-{f}" for m, _, f in BAD_ACTIONS],
)
def test_a_malformed_action_is_refused_naming_the_field(model, fields, field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        from_edge(model, {"actor": ACTOR, **fields})
    assert [".".join(map(str, e["loc"])) for e in refused.value.errors()] == [field]


@pytest.mark.parametrize(
    ("actor", "field"),
    [
        ({**ACTOR, "unit": "区城管局\x1b"}, "actor.unit"),
        ({**ACTOR, "person": "钱\n科长"}, "actor.person"),
        ({**ACTOR, "role": "mayor"}, "actor.role"),
        ({**ACTOR, "rank": 3}, "actor.rank"),
    ],
)
def test_a_malformed_actor_is_refused(actor, field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        from_edge(act.SignAction, {"actor": actor})
    assert [".".join(map(str, e["loc"])) for e in refused.value.errors()] == [field]


def test_free_text_in_actions_keeps_line_breaks_and_tabs():
    action = from_edge(
        act.FeedbackAction, {"actor": Actor(**ACTOR), "result": " 已到现场\r\n处理完毕\t。 "}
    )
    assert action.result == "已到现场\n处理完毕\t。"
    assert from_edge(act.ExtendAction, {"actor": ACTOR, "hours": 3, "reason": "需协调"}).hours == 3


def test_an_unknown_key_in_the_time_limit_table_is_refused(tmp_path):
    text = (config_dir() / "time-limits.toml").read_text(encoding="utf-8")
    assert "sign_hours = 2 " in text
    path = tmp_path / "time-limits.toml"
    path.write_text(text.replace("sign_hours = 2 ", "sign_hours = 2\nsing_hours = 2 ", 1))
    with pytest.raises(ConfigError, match=r"hotline\.sing_hours: unknown field; known: .*sign_"):
        load_time_limits(path)


# --- through the real client: nothing starts, nothing is written -----------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request, env, linkage, store):
    """(client, store): the session's worker on SQLite, or a worker of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield linkage, store
        return
    store = Store(request.getfixturevalue("postgres_schema"))
    async with own_worker(env, store, f"bad-input-{uuid.uuid4().hex[:8]}") as client:
        yield client, store


THROUGH_THE_CLIENT = [
    ("nul in description", with_value("description", "有人\x00占道"), "description"),
    ("esc in name", with_value("caller.name", "王\x1b小明"), "caller.name"),
    ("newline in township", with_value("location.township", "黄埭\n镇"), "location.township"),
    ("integer received_at", with_value("received_at", 1764600000), "received_at"),
    ("naive received_at", with_value("received_at", "2026-11-29T09:30:00"), "received_at"),
    ("year 2099", with_value("received_at", "2099-11-29T09:30:00+08:00"), "received_at"),
    ("joint yes", with_value("joint", "yes"), "joint"),
    ("unknown urgency", with_value("urgency", "whenever"), "urgency"),
    ("unknown top-level field", with_value("priority", "high"), "priority"),
    ("unknown nested field", with_value("caller.nickname", "小王"), "caller.nickname"),
    ("missing caller", without("caller"), "caller"),
    ("phone with letters", with_value("caller.phone", "139abc45678"), "caller.phone"),
    ("phone as township", with_value("location.township", "13912345678"), "location.township"),
    ("unknown category", with_value("category", "H99"), "category"),
]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in THROUGH_THE_CLIENT], ids=[c[0] for c in THROUGH_THE_CLIENT]
)
async def test_a_bad_report_starts_no_workflow_and_writes_no_row(backend, change, field):
    client, store = backend
    data = report()
    change(data)
    iid = incident_id_for(data["origin"], data["reference"])
    with pytest.raises(LinkageError) as refused:
        await client.divert(data)
    assert f"report: {field}: " in str(refused.value)
    with pytest.raises(RPCError) as missing:
        await client.client.get_workflow_handle(iid).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND
    assert store.get(Incident, iid) is None


async def test_a_bad_action_is_refused_before_it_reaches_a_workflow(linkage):
    with pytest.raises(LinkageError, match="extend: hours: Input should be a valid number"):
        await linkage.act(
            "police-JJNOSUCH", "extend", {"actor": ACTOR, "hours": "2", "reason": "需协调"}
        )
    with pytest.raises(LinkageError, match="return: reason: Value error, must not contain control"):
        await linkage.act("police-JJNOSUCH", "return", {"actor": ACTOR, "reason": "非本\x00单位"})


# --- the command line: a list is checked whole first -----------------------------------------


@pytest.fixture
def run_cli(env, worker, store, monkeypatch, capsys):
    """Run `linkage ARGS...` against the test server; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.url)

    async def run(*args: str):
        code = await asyncio.to_thread(cli.run, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write(tmp_path, documents) -> str:
    path = tmp_path / f"reports-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    return str(path)


async def assert_not_started(linkage: LinkageClient, store: Store, iid: str) -> None:
    with pytest.raises(RPCError) as missing:
        await linkage.client.get_workflow_handle(iid).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND
    assert store.get(Incident, iid) is None


async def test_a_list_with_a_bad_report_diverts_none(run_cli, linkage, store, tmp_path):
    good = report()
    no_phone = report("hotline")
    no_phone["caller"]["phone"] = "call me"
    future_one = report(received_at="2099-01-01T00:00:00+08:00", joint="yes")
    path = write(tmp_path, [good, no_phone, future_one])

    code, out, err = await run_cli("divert", path)
    assert code == 1 and out == ""
    assert "linkage: report 2: caller.phone: Value error, must be a telephone number" in err
    assert "linkage: report 3: joint: Input should be a valid boolean" in err
    assert "report 1" not in err and "2 of 3 reports are bad; none was diverted" in err
    for data in (good, no_phone, future_one):
        await assert_not_started(linkage, store, incident_id_for(data["origin"], data["reference"]))

    code, out, _ = await run_cli("divert", path, "--json")
    assert code == 1
    assert [item["index"] for item in json.loads(out)] == [2, 3]
    assert "caller.phone" in json.loads(out)[0]["error"]
    await assert_not_started(linkage, store, f"police-{good['reference']}")

    # The window is checked on the whole list too (joint fixed, the year still wrong).
    future_one["joint"] = False
    code, _, err = await run_cli("divert", write(tmp_path, [good, future_one]))
    assert code == 1 and "report 2: received_at: " in err and "in the future" in err
    await assert_not_started(linkage, store, f"police-{good['reference']}")


async def test_a_good_list_prints_each_report_and_its_incident(run_cli, tmp_path):
    first, second = report(), report("hotline")
    code, out, err = await run_cli("divert", write(tmp_path, [first, second]))
    assert code == 0, err
    assert out.splitlines() == [
        f"report 1: police-{first['reference']}",
        f"report 2: hotline-{second['reference']}",
    ]
    third = report()
    code, out, _ = await run_cli("divert", write(tmp_path, [first, third]), "--json")
    results = json.loads(out)
    assert code == 0
    assert [(r["index"], r["incident_id"]) for r in results] == [
        (1, f"police-{first['reference']}"),
        (2, f"police-{third['reference']}"),
    ]
    assert results[0]["new"] is False and results[1]["new"] is True


async def test_each_report_of_a_list_has_its_outcome_even_when_one_fails(
    run_cli, tmp_path, monkeypatch
):
    first, second, third = report(), report(), report("hotline")
    divert = LinkageClient.divert

    async def refusing_the_second(self, item):
        if item.reference == second["reference"]:
            raise LinkageError("the intake is not taking reports")
        return await divert(self, item)

    monkeypatch.setattr(LinkageClient, "divert", refusing_the_second)
    code, out, err = await run_cli("divert", write(tmp_path, [first, second, third]), "--json")
    assert code == 1
    assert json.loads(out) == [
        {**json.loads(out)[0], "index": 1, "incident_id": f"police-{first['reference']}"},
        {"index": 2, "error": "the intake is not taking reports"},
        {**json.loads(out)[2], "index": 3, "incident_id": f"hotline-{third['reference']}"},
    ]
    fourth, fifth = report(), report()
    fifth["reference"] = second["reference"]
    code, out, err = await run_cli("divert", write(tmp_path, [fourth, fifth]))
    assert code == 1
    assert out.splitlines() == [f"report 1: police-{fourth['reference']}"]
    assert "linkage: report 2: the intake is not taking reports" in err
