"""The intake's keys and claims: which reports join an open incident, decided in the records."""

from __future__ import annotations

from linkage import keys
from linkage.keys import caller_key, normal_phone, place_key, report_fingerprint
from linkage.models import IncidentReport
from tests.conftest import make_report

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
    finally:
        keys.district_secret.cache_clear()


def test_the_same_push_has_one_fingerprint():
    data = make_report("police")
    report = IncidentReport.model_validate(data)
    again = IncidentReport.model_validate(data | {"received_at": "2026-11-29T01:30:00+00:00"})
    assert report_fingerprint(report) == report_fingerprint(again)  # the same instant
    changed = IncidentReport.model_validate(data | {"description": data["description"] + "!"})
    assert report_fingerprint(changed) != report_fingerprint(report)
    assert len(report_fingerprint(report)) == 64
