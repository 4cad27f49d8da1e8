"""Numbers in a description are set aside before triage reads it: a 110, 119 or 120 inside a
phone number, ID number, plate, amount, date, house number or any longer digit run is no call
to the police, the fire brigade or an ambulance; only a stand-alone one counts."""

from __future__ import annotations

import re

import pytest

from linkage.domain.catalogue import load_catalogue
from linkage.domain.routing import load_routing
from linkage.domain.triage_result import TriageRequest
from linkage.triage.model import words_of
from linkage.triage.numbers import PLACEHOLDER, NumberReader
from linkage.triage.rules import normalise
from linkage.triage.training import Row, _features
from linkage.triage.triager import Triager

STALL = "小区门口有人摆摊占道经营，影响通行"
HOTLINE_NUMBERS = re.compile("110|119|120")

# (kind, a number with 110, 119 or 120 among its digits)
NUMBERS = [
    ("phone", "13812012345"),
    ("phone", "138 1201 2345"),
    ("phone", "138-1201-2345"),
    ("phone", "+86 138 1201 2345"),
    ("phone", "0512-66120123"),
    ("phone", "0512 6611 0119"),
    ("phone", "(0512)66119120"),
    ("phone", "0512-120-4567"),
    ("phone", "0512-66120123转120"),
    ("id", "32050719901201120X"),
    ("id", "320507 19901201 120X"),
    ("id", "11010519491231002X"),
    ("plate", "苏E·12012"),
    ("plate", "苏E12012"),
    ("plate", "苏E 11911"),
    ("plate", "苏E1Z120"),
    ("plate", "苏A·0120警"),
    ("amount", "1200元"),
    ("amount", "¥120"),
    ("amount", "120块"),
    ("amount", "110-120元"),
    ("amount", "1.20元"),
    ("amount", "120万"),
    ("date", "2011年9月"),
    ("date", "2024-11-09"),
    ("number", "20110919"),
    ("house", "120号"),
    ("house", "1201室"),
    ("house", "119栋"),
    ("house", "110单元"),
    ("house", "第120"),
    ("number", "订单1201198"),
    ("number", "12011"),
    ("code", "K120次"),
    ("code", "工号110"),
    ("code", "编号119"),
    ("code", "110kV"),
    ("quantity", "120米"),
    ("quantity", "119路公交车"),
    ("quantity", "120人"),
    ("decimal", "12.0%"),
]


@pytest.fixture(scope="module")
def triager() -> Triager:
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


def triage(triager: Triager, text: str):
    return triager.triage(TriageRequest(text=text, township="黄埭镇"))


def read_words(triager: Triager, text: str) -> set[str]:
    """Every word the rules took as evidence of anything."""
    found = triager.read(triager.prepare(text))[1]
    words = {w for terms in found.subs.values() for w in terms}
    words |= {w for terms in found.safety.values() for w in terms}
    words |= {w for terms in found.notice_words.values() for w in terms}
    return words | set(found.hazards) | set(found.negated_safety)


def test_the_stall_report_with_the_callers_phone_stays_with_12345(triager):
    """The attack: 120 inside the caller's mobile made a road accident with an ambulance."""
    plain = triage(triager, STALL)
    attacked = triage(triager, f"{STALL}，来电人电话13812012345")
    assert attacked.direction == "hotline" and not attacked.needs_review
    assert attacked.emergency_units == [] and attacked.notices == [] and attacked.safety == []
    assert (attacked.category, attacked.subcategory, attacked.route) == (
        plain.category,
        plain.subcategory,
        plain.route,
    )
    assert attacked.model.danger_p < triager.catalogue.model.danger
    rules_alone = Triager(triager.catalogue, triager.routing, model=None, rules=triager.rules)
    alone = triage(rules_alone, f"{STALL}，来电人电话13812012345")
    assert alone.direction == "hotline" and alone.emergency_units == [] and alone.safety == []


@pytest.mark.parametrize(("kind", "number"), NUMBERS)
def test_a_hotline_number_inside_another_number_triggers_nothing(triager, kind, number):
    text = f"{STALL}，{number}"
    assert HOTLINE_NUMBERS.search(re.sub("[^0-9]", "", number))  # read as one before
    prepared = triager.prepare(text)
    assert not HOTLINE_NUMBERS.search(prepared), prepared
    assert len(prepared) == len(normalise(text))
    assert kind in {n.kind for n in triager.rules.numbers.find(normalise(text))}
    assert not read_words(triager, text) & {"110", "119", "120"}
    result = triage(triager, text)
    assert result.direction == "hotline" and not result.needs_review, result.reason
    assert result.emergency_units == [] and result.safety == []


@pytest.mark.parametrize("number", ["2024年12月0日", "12:00", "12点20分", "12月20号"])
def test_dates_and_times_are_set_aside(triager, number):
    prepared = triager.prepare(number)
    assert not re.search("[0-9]", prepared) and len(prepared) == len(number)
    assert triage(triager, f"{STALL}，{number}").direction == "hotline"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("他被车撞了，打了120", "120"),
        ("楼上有人晕倒了，叫120来", "120"),
        ("有人倒在地上，打了120人还没来", "120"),
        ("打了120，110也打了", "120"),
        ("拨打110报警", "110"),
        ("我打110 120都打了", "110"),
        ("打119", "119"),
        ("拨打火警电话119", "119"),
    ],
)
def test_a_stand_alone_hotline_number_still_counts(triager, text, number):
    assert triager.prepare(text) == normalise(text)
    assert number in read_words(triager, text)
    result = triage(triager, text)
    assert result.direction != "hotline" or result.needs_review
    if number == "120":
        assert "120" in result.emergency_units and "120" in result.evidence


def test_a_call_to_120_notifies_the_ambulance_even_beside_a_phone_number(triager):
    result = triage(triager, "他被车撞了，打了120，来电人电话13812012345")
    assert result.direction == "police" and "120" in result.emergency_units
    assert "120" in result.evidence


def test_catalogue_words_written_with_digits_are_read_as_written(triager):
    for text, word in (
        ("工地24小时开工，吵得睡不着", "24小时开工"),
        ("我要投诉，打12315", "12315"),
    ):
        assert triager.prepare(text) == normalise(text)
        assert word in read_words(triager, text)
    assert triager.prepare("打12345") == "打12345"  # a 123xx service hotline stays


def test_the_model_reads_no_digits_of_a_number(triager):
    """Two phone numbers of one shape give the model the very same features."""
    one, other = f"{STALL}，电话13812012345", f"{STALL}，电话13999998888"
    assert triager.prepare(one) == triager.prepare(other)
    model = triager.model
    read = [(t, *triager.read(t)) for t in map(triager.prepare, (one, other))]
    vectors = [model.vector(t, facts, tokens) for t, tokens, _, facts in read]
    assert all((a == b).all() for a, b in zip(*vectors, strict=True))


def test_training_prepares_texts_as_reading_does(triager):
    text = f"{STALL}，来电人电话13812012345，家住120号"
    texts, words, facts = _features(triager, [Row(text, "", "hotline", "H02", False, "test")])
    assert texts == [triager.prepare(text)] and PLACEHOLDER * 11 in texts[0]
    tokens, _, read_facts = triager.read(triager.prepare(text))
    assert facts == [read_facts] and words == [words_of(tokens)]
    assert not any(ch.isdigit() for word in words[0] for ch in word)


def test_setting_aside_keeps_the_length_and_is_idempotent():
    reader = NumberReader(["24小时开工"])
    text = normalise("电话０５１２－６６１２０１２３，苏E·12012，2024年12月0日12:00，打了120")
    once = reader.set_aside(text)
    assert len(once) == len(text) and reader.set_aside(once) == once
    assert once.endswith("打了120") and once.count("120") == 1
    assert reader.find("4S店 P2P 312国道") == []
