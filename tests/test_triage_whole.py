"""Long texts weighed as a whole: a written complaint's danger words do not overrule a model that
has read thousands of real complaints, except a danger said to happen this moment; and the
shipped model's figures on the real posts' held-out fifth, where those posts are at hand."""

from __future__ import annotations

import pytest

from linkage.domain.catalogue import load_catalogue
from linkage.domain.routing import load_routing
from linkage.domain.triage_result import TriageRequest
from linkage.triage.corpus import real_dir, real_rows
from linkage.triage.decide import decide
from linkage.triage.model import Reading
from linkage.triage.triager import Triager

FIRE_LANE = (
    "尊敬的领导：您好！我是黄埭镇某小区的业主，小区物业多年来不作为，消防通道长期被私家车占用，"
    "楼道里堆满杂物，去年隔壁小区就因为这样发生过火灾，烧死了人，我们非常担心。多次向物业和社区"
    "反映，至今没有任何整改。恳请相关部门尽快督促物业清理消防通道，落实消防安全责任。"
)
LIFT = (
    "我们小区的电梯从交房到现在三年了，几乎每个月都坏，物业每次只是简单修一下。上个月还困过人，"
    "幸好没出事。业主们多次投诉，物业和开发商互相推诿，迟早要闹出人命。希望市场监管部门对电梯"
    "安全进行检查，督促物业更换老旧电梯，给业主一个安全的居住环境。"
)
FIRE_NOW = (
    "尊敬的领导：您好！我是黄埭镇某小区的业主，小区物业多年来不作为，消防通道长期被私家车占用，"
    "多次反映至今没有整改，楼道里堆满杂物，电动车也在楼道里充电。刚才楼下车库正在着火，黑烟"
    "已经冒到三楼了，楼里还有老人没下来，请赶紧派人来！"
)


@pytest.fixture(scope="module")
def triager() -> Triager:
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


@pytest.mark.parametrize("text", [FIRE_LANE, LIFT])
def test_a_long_complaint_with_danger_words_is_a_12345_matter(triager, text):
    assert len(text) >= triager.catalogue.model.whole_text
    result = triager.triage(TriageRequest(text=text))
    assert result.direction == "hotline" and not result.needs_review, result.reason
    assert not result.safety and not result.emergency_units
    assert result.route.kind != "command_center" or result.category is not None
    assert "长文整体读作 12345 事项" in result.reason


def test_the_same_words_said_of_now_keep_the_floor(triager):
    result = triager.triage(TriageRequest(text=FIRE_NOW))
    assert result.direction in ("police", "both") and "119" in result.emergency_units


def test_a_danger_said_of_now_outweighs_a_model_that_reads_the_text_as_12345(triager):
    """Whatever a model reads, a danger said to happen this moment stays with 110; where the
    model reads the whole as 12345 the desk decides, the notices waiting for its decision."""
    text = triager.prepare(FIRE_NOW)
    found = triager.rules.read(text, *triager.rules.parse(text))
    assert found.urgent and found.safety
    calm = Reading("hotline", 0.99, "H08", 0.9, 0.01, ["物业"])
    result = decide(triager, found, calm, "黄埭镇", len(text))
    assert result.direction in ("police", "both") and result.needs_review
    assert not result.emergency_units and "危险表述说的是现在" in result.reason
    # the same reading of the complaint alone (nothing said of now) lets it go to 12345
    text = triager.prepare(FIRE_LANE)
    found = triager.rules.read(text, *triager.rules.parse(text))
    result = decide(triager, found, calm, "黄埭镇", len(text))
    assert result.direction == "hotline" and not result.needs_review and not found.urgent


def test_a_short_danger_is_never_weighed_as_a_whole(triager):
    result = triager.triage(TriageRequest(text="楼下车库着火了，黑烟冒到三楼，快来人"))
    assert result.direction in ("police", "both") and "119" in result.emergency_units


def test_the_shipped_model_on_the_real_posts_held_out(triager):
    """The issue's real-post figures on the held-out fifth (never read by training or by any
    choice made): read as 12345 >= 95%, emergency units notified <= 0.5%, desk <= 15%."""
    rows = [r for r in real_rows("held_out") if r.direction == "hotline"]
    if not rows:
        pytest.skip(f"the real posts are not at hand in {real_dir()} (LINKAGE_TRIAGE_REAL_DATA)")
    results = [triager.triage(TriageRequest(text=r.text[:4000])) for r in rows]
    n = len(results)
    as_hotline = sum(x.direction == "hotline" for x in results) / n
    notified = sum(bool(x.emergency_units) for x in results) / n
    desk = sum(x.needs_review for x in results) / n
    assert as_hotline >= 0.95 and notified <= 0.005 and desk <= 0.15, (as_hotline, notified, desk)
