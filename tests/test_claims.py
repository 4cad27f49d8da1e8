"""The intake's keys and claims: which reports join an open incident, decided in the records."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from linkage.domain.models import IncidentReport, TimelineEntry
from linkage.domain.record_inputs import (
    IncidentRecord,
    RecordStepInput,
    StepRecord,
    TakeReportInput,
    TakeReportResult,
)
from linkage.records.intake import IntakeReport
from linkage.records.store import Store
from linkage.records.tables import Incident
from linkage.settings.config import ConfigError
from linkage.trust import keys
from linkage.trust.keys import caller_key, normal_phone, place_key, report_fingerprint
from tests.conftest import make_report
from tests.test_store import RULES, report_record, take_input

SECRET = b"district secret for tests"


# --- keys ---------------------------------------------------------------------------------------


def test_one_number_written_three_ways_gives_one_key():
    written = ["+86 139 1234 5678", "13912345678", "１３９１２３４５６７８", "0086-139-1234-5678"]
    assert {caller_key(phone, SECRET) for phone in written} == {caller_key("13912345678", SECRET)}
    assert caller_key("13912345679", SECRET) != caller_key("13912345678", SECRET)


def test_a_landline_keeps_its_area_code_with_or_without_the_country_code():
    assert normal_phone("+86 512 6523 1234") == normal_phone("0512-6523 1234") == "051265231234"
    assert normal_phone("86123456") == "86123456"  # a local number is not a country code


def test_different_secrets_give_different_keys():
    assert caller_key("13912345678", b"one") != caller_key("13912345678", b"two")
    assert place_key("黄埭镇", "春申路1号", "市容管理", b"one") != place_key(
        "黄埭镇", "春申路1号", "市容管理", b"two"
    )


def test_an_address_typed_differently_gives_one_place_key():
    same = [
        ("黄埭镇", "春申路 12 号 A 栋"),
        ("黄埭镇", "春申路１２号Ａ栋"),
        (" 黄埭镇 ", "春申路12号，A栋。"),
        ("黄埭镇", "春申路12号-a栋"),
    ]
    assert len({place_key(t, a, "市容管理", SECRET) for t, a in same}) == 1
    assert place_key("黄埭镇", "春申路12号", "市容管理", SECRET) != place_key(
        "黄埭镇", "春申路12号", "噪音扰民", SECRET
    )
    assert place_key("黄埭镇", "春申路12号", "市容管理", SECRET) != place_key(
        "黄埭镇", "春申路13号", "市容管理", SECRET
    )


def test_the_secret_comes_from_the_environment_or_a_file_made_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("LINKAGE_SECRET", raising=False)
    keys.district_secret.cache_clear()
    try:
        first = keys.district_secret()
        path = tmp_path / "linkage-secret"
        assert len(first) == 32 and path.read_bytes() == first
        assert path.stat().st_mode & 0o777 == 0o600
        keys.district_secret.cache_clear()
        assert keys.district_secret() == first  # kept across processes
        assert caller_key("13912345678") == caller_key("13912345678", first)
        monkeypatch.setenv("LINKAGE_SECRET", "from-the-environment")
        keys.district_secret.cache_clear()
        assert keys.district_secret() == b"from-the-environment"
        monkeypatch.delenv("LINKAGE_SECRET")
        path.write_bytes(b"short")
        keys.district_secret.cache_clear()
        with pytest.raises(ConfigError, match="16 or more"):
            keys.district_secret()
    finally:
        keys.district_secret.cache_clear()


def test_the_same_push_has_one_fingerprint():
    data = make_report("police")
    report = IncidentReport.model_validate(data)
    in_utc = datetime.fromisoformat(data["received_at"]).astimezone(UTC).isoformat()
    again = IncidentReport.model_validate(data | {"received_at": in_utc})
    assert report_fingerprint(report) == report_fingerprint(again)  # the same instant
    changed = IncidentReport.model_validate(data | {"description": data["description"] + "!"})
    assert report_fingerprint(changed) != report_fingerprint(report)
    assert len(report_fingerprint(report)) == 64


# --- take_report ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A database for stores of the test's own (several may share it, as processes would)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return request.getfixturevalue("postgres_schema")


@pytest.fixture
def store(url) -> Store:
    return Store(url)


def later(record: IncidentRecord, hours: float) -> datetime:
    return record.received_at + timedelta(hours=hours)


def same_caller(first: IncidentRecord, phone: str | None = None) -> IncidentRecord:
    """Another report from the first one's caller, about another place."""
    return report_record(caller={"name": "王小明", "phone": phone or first.caller_phone})


def same_place(first: IncidentRecord, address: str | None = None, **overrides) -> IncidentRecord:
    """Another caller's report about the first one's place."""
    location = {"address": address or first.address, "township": first.township}
    return report_record(location=location, **overrides)


def steps_closing(incident_id: str) -> RecordStepInput:
    entry = TimelineEntry(
        at=datetime.now(UTC), loop="incident", step="closed", action="close", actor="system"
    )
    return RecordStepInput(steps=[StepRecord.of(incident_id, 99, incident_id, entry)], close=True)


def test_a_report_from_the_same_caller_joins_the_open_incident(store):
    first = report_record()
    opened = store.take_report(take_input(first))
    assert (opened.incident_id, opened.new, opened.reports) == (first.id, True, 1)
    spaced = "+86 " + first.caller_phone[:3] + " " + first.caller_phone[3:]
    second = same_caller(first, phone=spaced)
    second.caller_name = "王小明（家属）"
    joined = store.take_report(take_input(second, at=later(first, 100)))  # no window for callers
    assert (joined.incident_id, joined.new, joined.matched_by, joined.reports) == (
        first.id,
        False,
        "caller",
        2,
    )
    assert store.get(Incident, first.id).pushes == 2
    assert store.get(Incident, second.id) is None  # no incident of its own
    row = store.get(IntakeReport, second.id)
    assert (row.incident_id, row.caller_name, row.caller_phone) == (
        first.id,
        "王小明（家属）",
        first.caller_phone,  # stored as the report normalised it, whatever way it was written
    )


def test_a_report_about_the_same_place_joins_within_the_window_only(store):
    first = report_record()
    store.take_report(take_input(first))
    typed_otherwise = first.address.replace("春申路", "春申路 ") + "。"
    near = store.take_report(take_input(same_place(first, typed_otherwise), at=later(first, 23)))
    assert (near.incident_id, near.matched_by, near.reports) == (first.id, "place", 2)
    late_record = same_place(first)
    late = store.take_report(take_input(late_record, at=later(first, 25)))
    assert late.new and late.incident_id == late_record.id
    # the stale place claim passed to the new incident: the next report joins that one
    assert {c.key.split(":")[0] for c in store.claims(late_record.id)} == {"caller", "place"}
    assert {c.key.split(":")[0] for c in store.claims(first.id)} == {"caller"}
    next_one = store.take_report(take_input(same_place(first), at=later(first, 26)))
    assert (next_one.incident_id, next_one.matched_by) == (late_record.id, "place")


def test_another_category_at_the_same_place_is_a_new_incident(store):
    first = report_record()
    store.take_report(take_input(first))
    other = same_place(first, category="噪音扰民")
    result = store.take_report(take_input(other, at=later(first, 1)))
    assert result.new and result.incident_id == other.id


def test_the_caller_match_wins_over_the_place_match(store):
    by_place = report_record()
    by_caller = report_record()
    store.take_report(take_input(by_place))
    store.take_report(take_input(by_caller))
    both = same_place(by_place, caller={"name": "赵六", "phone": by_caller.caller_phone})
    result = store.take_report(take_input(both, at=later(by_place, 1)))
    assert (result.incident_id, result.matched_by) == (by_caller.id, "caller")


def test_a_closed_incident_releases_its_claims(store):
    first = report_record()
    store.take_report(take_input(first))
    assert len(store.claims(first.id)) == 2
    for _ in range(2):  # the closing write, retried
        store.record_steps(steps_closing(first.id))
    assert store.claims(first.id) == []
    again = same_caller(first)
    result = store.take_report(take_input(again, at=later(first, 1)))
    assert result.new and result.incident_id == again.id
    place_again = store.take_report(take_input(same_place(again), at=later(first, 2)))
    assert (place_again.incident_id, place_again.matched_by) == (again.id, "place")


def test_a_retried_take_answers_the_same_and_counts_once(store):
    first = report_record()
    second = same_caller(first)
    assert store.take_report(take_input(first)) == store.take_report(take_input(first))
    joined = [store.take_report(take_input(second, at=later(first, 1))) for _ in range(3)]
    assert joined[0] == joined[1] == joined[2] and joined[0].reports == 2
    assert store.get(Incident, first.id).pushes == 2


def harassment_case(first: IncidentRecord) -> IncidentRecord:
    return report_record(
        origin="hotline",
        reference=f"SR{uuid.uuid4().hex[:10].upper()}",
        caller={"name": first.caller_name, "phone": first.caller_phone},
        category="违法犯罪类",
    )


def test_a_caller_over_the_harassment_rule_is_handed_to_police_once(store):
    rules = RULES.model_copy(update={"harassment_reports": 3, "harassment_window_hours": 2})
    first = report_record()
    case = harassment_case(first)

    def take(record: IncidentRecord, hours: float, **extra):
        return store.take_report(
            take_input(
                record, at=later(first, hours), rules=rules, harassment_case_id=case.id, **extra
            )
        )

    assert take(first, 0).harassment_case == ""
    assert take(same_caller(first), 3).harassment_case == ""  # the first is out of the window
    assert take(same_caller(first), 3.5).harassment_case == ""
    tipped = take(same_caller(first), 4)
    assert tipped.harassment_case == case.id and tipped.incident_id == first.id
    assert take(same_caller(first), 4.5).harassment_case == ""  # once, while the case is open
    # the case itself: an incident of its own, no caller or place claim, counted for no one
    opened = take(case, 4.6, harassment_case=True)
    assert opened.new and opened.incident_id == case.id and opened.harassment_case == ""
    assert [c.key.split(":")[0] for c in store.claims(case.id)] == ["harassment"]
    assert store.get(Incident, case.id).category == "违法犯罪类"
    store.record_steps(steps_closing(case.id))
    assert store.claims(case.id) == []
    again = take(same_caller(first), 5)
    assert again.harassment_case == case.id  # the case closed: the rule applies anew


# --- racing -------------------------------------------------------------------------------------


def race(stores: list[Store], inputs: list[TakeReportInput]) -> list[TakeReportResult]:
    """Take the reports at the same instant, each through a store (engine) of its own."""
    barrier = threading.Barrier(len(inputs))

    def take(store: Store, input: TakeReportInput) -> TakeReportResult:
        barrier.wait()
        return store.take_report(input)

    with ThreadPoolExecutor(len(inputs)) as pool:
        return list(pool.map(take, stores, inputs))


def test_matching_reports_taken_at_the_same_instant_make_one_incident(url):
    stores = [Store(url), Store(url)]
    for round in range(20):
        first = report_record()
        kind = ("caller", "place", "retry")[round % 3]
        if kind == "caller":
            second = same_caller(first)
        elif kind == "place":
            second = same_place(first)
        else:
            second = first  # one activity's take, running twice at once
        results = race(stores, [take_input(first), take_input(second)])
        assert len({r.incident_id for r in results}) == 1, (kind, results)
        winner = results[0].incident_id
        if kind == "retry":
            assert results[0] == results[1] and results[0].new
            assert stores[0].get(Incident, winner).pushes == 1
            continue
        assert sorted(r.new for r in results) == [False, True], (kind, results)
        assert {r.matched_by for r in results} == {"", kind}
        assert sorted(r.reports for r in results) == [1, 2]
        loser = first.id if winner == second.id else second.id
        assert stores[0].get(Incident, winner).pushes == 2
        assert stores[0].get(Incident, loser) is None
        assert stores[0].claims(loser) == []
