"""The triage decision: the rules' reading first, then the learned model's beside it.

The rules decide the safety floor (a present danger goes to police, with a notice for each
emergency unit whose kind of danger the words show) and their best catalogue item. The model
then agrees, disagrees or is unsure: agreement lets a weakly-evidenced reading through, and
disagreement on the side (110 or 12345), a danger the rules did not see, or a model that is
unsure where the rules are too, sends the description to the linkage desk.
"""

from __future__ import annotations

from dataclasses import replace

from linkage.domain.catalogue import Direction
from linkage.domain.triage_result import ModelView, TriageResult
from linkage.triage.evidence import Evidence
from linkage.triage.rules import LONG_TEXT
from linkage.triage.verdict import SIDE_LABEL, rules_decision

UNSURE_REASONS = ("证据不足", "置信度", "未匹配到联动事项")


def facts(found: Evidence, text: str) -> dict[str, float]:
    """The catalogue's evidence as model features (the model's catalogue terms)."""
    out: dict[str, float] = {}
    for sub, terms in found.subs.items():
        key = f"cat:{sub[:3]}"
        out[key] = min(1.0, out.get(key, 0.0) + sum(terms.values()) / 3)
    for key in found.safety:
        out[f"safety:{key}"] = 1.0
    out["hazard"] = float(bool(found.hazards))
    out["cue"] = float(bool(found.cues))
    out["caution"] = float(bool(found.caution))
    out["negated"] = float(bool(found.negated_safety))
    out["complaint"] = min(1.0, len(set(found.complaint)) / 4)
    out["present"] = min(1.0, len(set(found.present)) / 3)
    out["long"] = float(len(text) >= LONG_TEXT)
    out["very_long"] = float(len(text) >= 4 * LONG_TEXT)
    return out


def side(direction: str) -> str:
    return "hotline" if direction == "hotline" else "police"


def decide(triager, found: Evidence, reading, township: str, length: int = 0) -> TriageResult:
    if reading is not None and as_a_whole(triager.catalogue.model, found, reading, length):
        return whole(triager, found, reading, township)
    result = rules_decision(triager, found, township)
    if reading is None:
        return result
    return combine(triager, result, reading, township, found.is_complaint and not found.safety)


def as_a_whole(settings, found: Evidence, reading, length: int) -> bool:
    """A long text the model, having read thousands of real complaints, surely reads as a 12345
    matter with next to no danger: its single danger or police words do not overrule that,
    unless a danger is said to happen now (then the desk decides, see whole)."""
    return (
        length >= settings.whole_text
        and reading.direction == "hotline"
        and reading.direction_p >= settings.whole_sure
        and reading.danger_p < settings.whole_danger
    )


def whole(triager, found: Evidence, reading, township: str) -> TriageResult:
    """A long text weighed as a whole: 12345, on the rules' 12345 item or else the model's; the
    danger and police words are noted as hazards for the department. A danger said to happen
    now stays with 110 and goes to the desk, its emergency notices waiting for the desk."""
    if found.urgent:
        result = rules_decision(triager, found, township)
        reason = f"长文整体读作 12345 事项 (危险概率 {reading.danger_p:.2f})，但危险表述说的是现在"
        return combine(triager, result, reading, township).model_copy(
            update={
                "emergency_units": [],
                "needs_review": True,
                "review_reasons": [*result.review_reasons, reason],
                "reason": f"{result.reason}；转对接联动专席复核: {reason}",
            }
        )
    catalogue = triager.catalogue
    noted = [w for terms in found.safety.values() for w in terms]  # police words: dropped
    kept = {
        sub: terms
        for sub, terms in found.subs.items()
        if catalogue.category_of(sub).direction == "hotline"
    }
    calm = replace(
        found,
        subs=kept,
        safety={},
        hazards=list(dict.fromkeys([*found.hazards, *noted])),
        caution=[],
        cues=[],
        negated_safety=[],
    )
    result = rules_decision(triager, calm, township)
    if result.category is None:
        item = model_item(triager, reading, township) or {
            "direction": "hotline",
            "category": catalogue.code_name("H08"),
            "route": triager.route("H08", None, township),
        }
        result = result.model_copy(update={**item, "subcategory": None})
    words = "、".join(reading.evidence[:3]) or "-"
    item = f"{result.category.name} ({result.category.code})"
    reason = f"长文整体读作 12345 事项 (“{words}”, {reading.direction_p:.2f})：{item}"
    reason += f"；派往 {result.route.unit}"
    if result.hazards:
        reason += f"；反映的隐患: {'、'.join(result.hazards[:4])}"
    view = model_view(reading)
    return result.model_copy(
        update={
            "direction": "hotline",
            "hotline_route": None,
            "needs_review": False,
            "review_reasons": [],
            "reason": reason,
            "model_version": triager.model.version,
            "model": view,
            "confidence": max(result.confidence, reading.direction_p),
        }
    )


def model_view(reading) -> ModelView:
    """What the model read, as the result shows it beside the rules."""
    return ModelView.model_construct(
        direction=reading.direction,
        category_p=reading.category_p,
        direction_p=reading.direction_p,
        category=reading.category,
        danger_p=reading.danger_p,
        evidence=reading.evidence,
    )


def combine(
    triager, result: TriageResult, reading, township: str, complaint: bool = False
) -> TriageResult:
    """The model beside the rules: see the module's docstring."""
    settings = triager.catalogue.model
    view = model_view(reading)
    reasons = list(result.review_reasons)
    words = "、".join(reading.evidence[:3]) or "-"
    update: dict = {}
    sure = reading.direction_p >= settings.sure
    if result.safety:
        if reading.danger_p < settings.no_danger and reading.direction == "hotline" and sure:
            view.agrees = False
            reasons.append(f"模型不认为有危险 (危险概率 {reading.danger_p:.2f})")
        thin = max((len(t) for t in result.evidence), default=0) <= 2  # 炸了, 救命: one short word
        if reading.danger_p < settings.notice_danger and result.emergency_units and thin:
            # the notices wait for the desk: the desk's decision sends them (or not)
            update["emergency_units"] = []
            reasons.append(f"应急联动待专席确认 (模型危险概率 {reading.danger_p:.2f})")
        township_part = result.hotline_route is not None and result.hotline_route.kind == "township"
        if result.direction == "both" and reading.direction == "police" and sure and township_part:
            # a joint reading whose 12345 part is only the township's: the model says police
            update["direction"], update["hotline_route"] = "police", None
    else:
        rules_unsure = result.category is None or any(
            r.startswith(UNSURE_REASONS) for r in result.review_reasons
        )
        # A complaint with nothing said to happen now needs a surer model to doubt it.
        danger = settings.complaint_danger if complaint else settings.danger
        # in a complaint too, a danger the model sees while it reads the matter as police's,
        # or while it cannot tell the sides apart
        if side(reading.direction) == "police" or reading.direction_p < settings.unsure:
            danger = settings.danger
        if reading.danger_p >= danger and result.direction == "hotline":
            view.agrees = False
            reasons.append(f"模型认为可能有危险 (“{words}”, 危险概率 {reading.danger_p:.2f})")
        elif side(reading.direction) != side(result.direction) and result.category is not None:
            if reading.direction_p >= settings.unsure:
                view.agrees = False
                reasons.append(
                    f"规则与模型不一致: 模型判为 {SIDE_LABEL[reading.direction]} "
                    f"(“{words}”, {reading.direction_p:.2f})"
                )
        elif (
            rules_unsure
            and sure
            and result.category is not None
            and calm(result, reading, settings)
        ):
            # The rules are unsure and the model is sure of the same side: the reading stands
            # (for 12345 alone, only when the model sees next to no danger either).
            reasons = [r for r in reasons if not r.startswith(UNSURE_REASONS)]
        elif result.category is None and alone(reading, settings):
            # The rules found nothing and the model reads it surely: its reading stands.
            item = model_item(triager, reading, township)
            if item:
                update |= item
                reasons = [r for r in reasons if not r.startswith(UNSURE_REASONS)]
        elif rules_unsure and reading.direction_p < settings.unsure:
            reasons.append(f"模型也不确定 ({reading.direction_p:.2f})")
    if result.direction == "police" and reading.direction == "both" and sure:
        update["direction"] = "both"
    direction = update.get("direction", result.direction)
    if direction == "both" and result.hotline_route is None:
        update["hotline_route"] = triager.route("H08", None, township)
    reasons = list(dict.fromkeys(reasons))
    reason = result.reason.split("；转对接联动专席复核")[0]
    if update.get("category") is not None:
        reason = (
            f"模型依据“{words}”判为{update['category'].name} ({update['category'].code})，"
            f"由 {SIDE_LABEL[direction]} 处置；派往 {update['route'].unit}"
        )
    if reasons:
        reason += f"；转对接联动专席复核: {'；'.join(reasons)}"
    return result.model_copy(
        update={
            **update,
            "needs_review": bool(reasons),
            "review_reasons": reasons,
            "reason": reason,
            "model_version": triager.model.version,
            "model": view,
            "confidence": max(result.confidence, reading.direction_p if not reasons else 0.0),
        }
    )


def calm(result: TriageResult, reading, settings) -> bool:
    return result.direction != "hotline" or reading.danger_p < settings.lift_danger


def alone(reading, settings) -> bool:
    """Sure enough of both the side and the category to read with no catalogue term found."""
    return reading.direction_p >= settings.alone and reading.category_p >= settings.unsure


def model_item(triager, reading, township: str) -> dict:
    """The model's category where the rules found no catalogue term."""
    catalogue = triager.catalogue
    code = reading.category
    if code not in catalogue.categories:
        return {}
    direction: Direction = reading.direction
    if side(direction) != catalogue.categories[code].direction:
        return {}
    category = catalogue.code_name(code)
    return {
        "direction": direction,
        "category": category,
        "route": triager.route(code, None, township),
        "evidence": reading.evidence,
    }
