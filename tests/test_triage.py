"""Triage without Temporal: the catalogue and routing tables, the safety floor, review, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linkage.domain.catalogue import load_catalogue
from linkage.domain.routing import load_routing
from linkage.domain.triage_result import TriageRequest
from linkage.settings.config import ConfigError
from linkage.settings.paths import PROJECT_ROOT
from linkage.triage.triager import Triager

CONFIG = PROJECT_ROOT / "temporal-config"
DATA = PROJECT_ROOT / "tests/data/triage"


@pytest.fixture(scope="module")
def triager() -> Triager:
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


def triage(triager: Triager, text: str, township: str = "黄埭镇"):
    return triager.triage(TriageRequest(text=text, township=township))


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (CONFIG / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- the catalogue and the routing table -----------------------------------------------------


def test_the_catalogue_has_both_directions_of_the_seed_with_stable_codes():
    catalogue = load_catalogue()
    hotline = [c for c in catalogue.categories if c.startswith("H")]
    police = [c for c in catalogue.categories if c.startswith("P")]
    assert len(hotline) == len(police) == 8
    assert catalogue.categories["H02"].name == "市容管理"
    assert catalogue.subcategory("H02.07").name == "餐饮油烟"
    assert catalogue.categories["P04"].name == "治安灾害事故"
    assert catalogue.find("餐饮油烟") == ("H02", "H02.07")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            '[categories.H02]\nname = "市容管理"\ndirection = "hotline"',
            '[categories.H02]\nname = "市容管理"\ndirection = "police"',
            "categories.H02.direction: H02 is a hotline code",
        ),  # noqa: E501
        (
            '[categories.H02.subcategories."H02.07"]',
            '[categories.H02.subcategories."H03.07"]',
            "a subcategory code is its category's code",
        ),  # noqa: E501
        (
            'subcategory = "P04.05"',
            'subcategory = "P99.01"',
            "safety.fire.subcategory: 'P99.01' is not a police subcategory",
        ),  # noqa: E501
        (
            "min_confidence = 0.55",
            "min_confidence = 1.5",
            "review.min_confidence: Input should be less than 1",
        ),  # noqa: E501
        (
            'name = "餐饮油烟"\nterms = ["',
            'name = "餐饮油烟"\nterms = ["油 烟", "',
            "contains a space",
        ),
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_field(tmp_path, old, new, problem):
    with pytest.raises(ConfigError, match="catalogue.toml") as err:
        load_catalogue(edited(tmp_path, "catalogue.toml", old, new))
    assert problem in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            '"H02" = "区城市管理局"',
            '"H02" = "区城管"',
            "routes.H02: '区城管' is not in [departments]",
        ),
        ('"H02.01" = "township"', '"H09.01" = "township"', "routes.H09.01: no such code"),
        ('"H07" = "township"', '"H07" = "police_station"', "cannot go to a police station"),
        ('aliases = ["黄桥"]', 'aliases = ["黄埭"]', "'黄埭' already names"),
    ],
)
def test_a_bad_routing_table_is_refused_naming_the_field(tmp_path, old, new, problem):
    with pytest.raises(ConfigError) as err:
        load_routing(load_catalogue(), edited(tmp_path, "routing.toml", old, new))
    assert problem in str(err.value)


def test_routes_by_category_and_township_and_falls_back_to_the_command_centre():
    routing = load_routing(load_catalogue())
    assert routing.route("H02", "H02.07", "元和街道").unit == "区城市管理局"
    assert routing.route("H02", "H02.01", "元和").unit == "元和街道办事处"  # by its alias
    assert routing.route("P01", "P01.02", "望亭镇").unit == "望亭派出所"
    assert routing.route("P07", "P07.01", "望亭镇").unit == "区公安分局督察大队"
    unknown = routing.route("P01", "P01.02", "姑苏区")
    assert (unknown.kind, unknown.unit) == ("command_center", "区公安分局指挥中心")
    assert routing.route("H08", "H08.04", "黄埭镇").unit == "区集成指挥中心"
    assert routing.route(None, None, "黄埭镇").kind == "command_center"


# --- the classifier --------------------------------------------------------------------------


def test_a_clear_matter_is_classified_with_evidence_reason_and_route(triager):
    result = triage(triager, "楼下烧烤店油烟太大，熏得窗户都不敢开", "元和街道")
    assert (result.direction, result.subcategory.code) == ("hotline", "H02.07")
    assert "油烟" in result.evidence and not result.needs_review
    assert result.route.unit == "区城市管理局" and "餐饮油烟" in result.reason
    assert result.catalogue_version == load_catalogue().version


@pytest.mark.parametrize(
    "text",
    [
        "楼上装修太吵，我上去说了两句他就动手打人",  # a noise complaint that turns into a fight
        "健身房不退钱，老板还说再来闹就弄死我",  # a consumer dispute with threats
        "燃气表坏了，闻到一股很重的煤气味",  # a utility fault that is also a gas leak
        "仓库着火了，黑烟很大",
        "有人掉河里了",
        "我家老人有老年痴呆，出去到现在没回家",
        "有个人站在楼顶边上说不想活了",
        "路口电动车被车撞倒，人倒地不起",
        "两百多人围在厂门口讨薪，把路都堵了",
        "有人拿刀在小区里追人",
    ],
)
def test_the_safety_floor_never_lets_a_danger_leave_110(triager, text):
    result = triage(triager, text)
    assert result.safety, text
    assert result.direction in ("police", "both") and result.category.code.startswith("P")


def test_the_safety_floor_names_the_emergency_units(triager):
    result = triage(triager, "小区门口燃气管道破裂，闻到很浓的煤气味")
    assert result.direction == "both"  # police first, and the gas company and departments join
    assert {"119", "gas"} <= set(result.emergency_units)
    assert result.route.unit == "黄埭派出所"
    assert result.hotline_route.unit == "黄埭镇人民政府"  # 12345's part: the township (属地)


def test_a_fight_over_a_complaint_routes_both_parts(triager):
    result = triage(triager, "楼上装修太吵，我上去说了两句他就动手打人，施工噪音天天都有")
    assert (result.direction, result.subcategory.code) == ("both", "P01.02")
    assert result.hotline_route.unit == "区住房和城乡建设局"


def test_a_fire_lane_complaint_is_not_a_fire(triager):
    result = triage(triager, "小区消防通道天天被私家车堵住，物业也不管")
    assert (result.direction, result.subcategory.code, result.safety) == ("hotline", "H08.01", [])


def test_a_longer_term_overrules_a_danger_word_inside_it(triager):
    result = triage(triager, "燃气灶打不着火，换了电池也不行")
    assert (result.direction, result.subcategory.code, result.safety) == ("hotline", "H01.02", [])


def test_a_past_or_hypothetical_danger_is_not_taken_for_a_present_one(triager):
    for text in (
        "小区消防通道被车堵了，万一着火消防车都进不来",
        "去年有人在这条河里淹死了，护栏到现在没装",
    ):
        result = triage(triager, text)
        assert not result.safety, text
        assert "否定的危险表述" in result.reason


def test_weak_or_conflicting_evidence_goes_to_the_linkage_desk(triager):
    nothing = triage(triager, "喂，你好，我想说个事情")
    assert nothing.needs_review and nothing.category is None
    assert "未匹配" in nothing.reason
    negated = triage(triager, "车子蹭了一下，没有人受伤")
    assert negated.needs_review and "否定的危险表述" in negated.reason


def test_the_development_set_meets_the_accuracy_targets(triager):
    """A catalogue edit that costs accuracy shows here, before it reaches an incident."""
    rows = [json.loads(line) for line in (DATA / "dev.jsonl").read_text().splitlines()]
    results = [triage(triager, row["text"], row["township"]) for row in rows]
    direction = sum(r["direction"] == x.direction for r, x in zip(rows, results, strict=True))
    category = sum(
        r["category"] == (x.category.code if x.category else "")
        for r, x in zip(rows, results, strict=True)
    )
    assert direction / len(rows) >= 0.95
    assert category / len(rows) >= 0.90


def test_every_safety_case_of_the_development_set_stays_with_110(triager):
    rows = [json.loads(line) for line in (DATA / "dev.jsonl").read_text().splitlines()]
    assert len(rows) >= 300
    for row in rows:
        result = triage(triager, row["text"], row["township"])
        if row["safety"]:
            assert result.direction != "hotline", row


# --- the command line ------------------------------------------------------------------------


def linkage_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    exe = shutil.which("linkage", path=str(Path(sys.executable).parent))
    return subprocess.run(
        [exe, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_triage_reads_json_lines_and_answers_bad_lines_with_an_error_line():
    lines = "\n".join(
        [
            json.dumps({"id": "a", "text": "路灯坏了好几天，晚上一片漆黑", "township": "黄埭"}),
            "{not json",
            json.dumps({"id": "c", "township": "黄埭镇"}),
            json.dumps({"id": "d", "text": "有人在河边溺水了"}, ensure_ascii=False),
        ]
    )
    done = linkage_cli("triage", "-", stdin=lines)
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and len(out) == 4
    first = out[0]
    assert first["id"] == "a" and first["direction"] == "hotline"
    assert first["subcategory"] == {"code": "H01.04", "name": "路灯故障"}
    for key in ("category", "confidence", "evidence", "reason", "route", "needs_review"):
        assert key in first
    assert out[1]["line"] == 2 and "not valid JSON" in out[1]["error"]
    assert out[2]["id"] == "c" and "text: Field required" in out[2]["error"]
    assert out[3]["direction"] == "police" and out[3]["safety"]


def test_triage_of_one_description_prints_the_reason():
    done = linkage_cli("triage", "楼下饭店油烟太大", "--township", "元和街道")
    assert done.returncode == 0
    assert "H02.07 餐饮油烟" in done.stdout and "区城市管理局" in done.stdout


@pytest.mark.parametrize("name", ["police-report.json", "hotline-report.json"])
def test_the_readme_examples_go_straight_to_the_receiving_platform(triager, name):
    """The README walks a new user through these; a vocabulary edit must not stall them."""
    report = json.loads((PROJECT_ROOT / "examples" / name).read_text(encoding="utf-8"))
    result = triage(triager, report["description"], report["location"]["township"])
    receiver = "hotline" if report["origin"] == "police" else "police"
    assert result.direction in (receiver, "both") and not result.needs_review, result.reason


# --- the cases: notices on evidence, complaints read as complaints -------------------


def test_garbage_that_smells_is_a_12345_matter_and_notifies_no_one(triager):
    result = triage(triager, "村里垃圾好几天没人清运，气味很大")
    assert (result.direction, result.subcategory.code) == ("hotline", "H02.02")
    assert result.safety == [] and result.emergency_units == [] and result.notices == []


def test_a_stall_blocking_a_fire_lane_is_street_trading_not_property(triager):
    result = triage(triager, "小区门口有人占道摆摊，堵住消防通道")
    assert result.direction == "hotline" and result.category.code == "H02"
    assert not result.safety and not result.emergency_units


@pytest.mark.parametrize(
    ("text", "hazard"),
    [
        ("关于轨道交通规划的建议：希望S1线能延伸到我们镇，现在上班太不方便了", None),
        (
            "我们这栋老楼墙体开裂多年，随时可能倒塌，反映了好几次都没人管，希望政府尽快安排检测",
            None,
        ),
        ("我们小区一直频繁停电，上个月停了五次，电梯里经常有人被困，供电所什么时候能解决", "被困"),
        (
            "小区的树多年没人修剪，枝叶都伸进我家窗户了，夏天虫子特别多，救救我们吧，物业一直不管",
            "救救我",
        ),
    ],
)
def test_a_complaint_about_a_lasting_condition_is_a_12345_matter(triager, text, hazard):
    """One alarming word does not make a present danger of a complaint: the hazard is noted."""
    result = triage(triager, text)
    assert result.direction == "hotline", result.reason
    assert result.category.code.startswith("H")
    assert result.safety == [] and result.emergency_units == []
    if hazard:
        assert hazard in result.hazards and "反映的隐患" in result.reason


def test_a_complaint_that_tells_of_a_present_danger_is_still_a_danger(triager):
    result = triage(
        triager, "我们小区电梯一直有问题，反映了好几次都没人修，现在电梯卡住了，我被困在里面"
    )
    assert result.safety and result.direction != "hotline"
    assert [n.unit for n in result.notices] == ["119"]


def test_a_body_in_a_river_is_for_police(triager):
    result = triage(triager, "河里发现一具尸体，漂在桥下面")
    assert result.direction == "police" and result.safety
    assert result.emergency_units == []  # nothing for a fire brigade or an ambulance to do


@pytest.mark.parametrize(
    ("text", "unit", "word"),
    [
        ("厨房着火了，快来", "119", "着火"),
        ("有人被车撞了，腿上流了好多血", "120", "被车撞"),
        ("小区门口燃气管道破裂，闻到很浓的煤气味", "gas", "煤气味"),
        ("路边自来水主管道爆了，水喷得很高，路都淹了", "water", "主管道爆了"),
        ("高压线断了掉在地上，还在冒火花", "power", "高压线"),
        ("化工厂的槽罐车翻了，氨气泄漏，味道很冲", "emergency", "氨气"),
    ],
)
def test_each_emergency_unit_is_notified_on_evidence_of_its_own_kind(triager, text, unit, word):
    result = triage(triager, text)
    notices = {n.unit: n.evidence for n in result.notices}
    assert unit in notices and unit in result.emergency_units, result.reason
    assert any(word in w or w in word for w in notices[unit])
    assert unit in result.reason  # every notice is shown with the words it rests on


def test_a_unit_is_not_notified_without_evidence_of_its_kind(triager):
    fire = triage(triager, "厨房着火了，快来")
    assert "120" not in fire.emergency_units and "gas" not in fire.emergency_units
    gas = triage(triager, "家里闻到一股很浓的煤气味，一直嘶嘶响")
    assert "gas" in gas.emergency_units and "120" not in gas.emergency_units
    assert "emergency" not in gas.emergency_units  # a household gas smell: no chemicals
    hurt = triage(triager, "路口两辆车撞了，一个人倒在地上流血")
    assert "120" in hurt.emergency_units and "gas" not in hurt.emergency_units


@pytest.mark.parametrize(
    "text", ["这个路口很危险，你们管一管", "楼道里一股刺鼻的味道，不知道是什么"]
)
def test_a_generic_danger_cue_goes_to_the_desk_and_notifies_no_one(triager, text):
    result = triage(triager, text)
    assert result.needs_review and result.emergency_units == []
    assert any("危险表述不具体" in r for r in result.review_reasons) or result.model is not None
