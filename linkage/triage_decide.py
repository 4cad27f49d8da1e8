"""The triage decision: the rules' reading first, then the learned model's beside it.

The rules decide the safety floor (a present danger goes to police, with a notice for each
emergency unit whose kind of danger the words show) and their best catalogue item. The model
then agrees, disagrees or is unsure: agreement lets a weakly-evidenced reading through, and
disagreement on the side (110 or 12345), a danger the rules did not see, or a model that is
unsure where the rules are too, sends the description to the linkage desk.
"""

from __future__ import annotations

from linkage.catalogue import CodeName, Direction, Route
from linkage.triage import ModelView, TriageResult, UnitNotice
from linkage.triage_rules import LONG_TEXT, WEAK_WEIGHT, Evidence, term_weight

CATEGORY_SHARE = 0.3  # how much a sibling subcategory's evidence counts
SIDE_LABEL = {"police": "110", "hotline": "12345", "both": "110 与 12345 会同"}
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


def decide(triager, found: Evidence, reading, township: str) -> TriageResult:
    result = rules_decision(triager, found, township)
    if reading is None:
        return result
    return combine(triager, result, reading, township, found.is_complaint and not found.present)


def combine(
    triager, result: TriageResult, reading, township: str, complaint: bool = False
) -> TriageResult:
    """The model beside the rules: see the module's docstring."""
    settings = triager.catalogue.model
    view = ModelView.model_construct(
        direction=reading.direction,
        category_p=reading.category_p,
        direction_p=reading.direction_p,
        category=reading.category,
        danger_p=reading.danger_p,
        evidence=reading.evidence,
    )
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
        elif rules_unsure and sure and result.category is not None:
            # The rules are unsure and the model is sure of the same side: the reading stands.
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
        update["hotline_route"] = triager.routing.route("H08", None, township)
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
        "route": triager.routing.route(code, None, township),
        "evidence": reading.evidence,
    }


def rules_decision(self, found: Evidence, township: str) -> TriageResult:
    """The rules alone: the safety floor, the best catalogue item, and their doubts."""
    catalogue, review = self.catalogue, self.catalogue.review
    # The safety floor's words count for the police subcategory they fall under.
    for key, terms in found.safety.items():
        sub = catalogue.safety[key].subcategory
        for term in terms:
            found.subs.setdefault(sub, {}).setdefault(term, term_weight(term))
    # Matters that are themselves a danger (fire, drowning, a crowd …) are on the floor too,
    # on the strength of one real term: the danger kinds found, by name, with their terms.
    dangers: dict[str, list[str]] = {
        catalogue.safety[key].name: terms for key, terms in sorted(found.safety.items())
    }
    emergency = [u for key in sorted(found.safety) for u in catalogue.safety[key].emergency]
    for sub_code, terms in sorted(found.subs.items()):
        sub = catalogue.subcategory(sub_code)
        if sub is not None and sub.safety and max(terms.values()) > WEAK_WEIGHT:
            dangers.setdefault(sub.name, list(terms))
            emergency += self.rules.units_by_sub.get(sub_code, [])
    emergency = list(dict.fromkeys(emergency))
    notices = unit_notices(catalogue, found, emergency) if dangers else []
    # Evidence for a subcategory's siblings speaks a little for it too (same category).
    own = {sub: found.score(sub) for sub in found.subs}
    in_category: dict[str, float] = {}
    for sub, score in own.items():
        in_category[sub[:3]] = in_category.get(sub[:3], 0.0) + score
    scores = {
        sub: score + CATEGORY_SHARE * (in_category[sub[:3]] - score) for sub, score in own.items()
    }
    by_side: dict[str, list[tuple[float, str]]] = {"police": [], "hotline": []}
    for sub, score in scores.items():
        by_side[catalogue.category_of(sub).direction].append((score, sub))
    for ranked in by_side.values():
        ranked.sort(key=lambda pair: (-pair[0], pair[1]))
    best_police = by_side["police"][0] if by_side["police"] else (0.0, "")
    best_hotline = by_side["hotline"][0] if by_side["hotline"] else (0.0, "")
    safety = list(dangers)
    review_reasons: list[str] = []

    if safety:
        side = "police"
    elif best_police[0] == best_hotline[0] == 0:
        return undecided(self, found, township)
    else:
        side = "police" if best_police[0] >= best_hotline[0] else "hotline"
    winner = best_police if side == "police" else best_hotline
    other = best_hotline if side == "police" else best_police
    sub_code = winner[1]
    sub = catalogue.subcategory(sub_code)
    assert sub is not None

    # Both sides: a joint item, or a matter of the other side as clear as this one beside
    # it (both_ratio of its evidence). Context words alone never make a second matter.
    strong = sum(w for w in found.subs.get(other[1], {}).values() if w > WEAK_WEIGHT)
    other_is_real = strong >= review.min_score and other[0] >= review.both_ratio * winner[0]
    direction: Direction = side  # type: ignore[assignment]
    if side == "police" and (sub.joint or other_is_real):
        direction = "both"
    elif side == "hotline":
        # 12345 alone only when nothing hints at police or at a person in trouble: a
        # danger missed by the floor then still meets a person before it leaves 110.
        police_strong = sum(w for w in found.subs.get(other[1], {}).values() if w > WEAK_WEIGHT)
        if police_strong >= review.min_score:
            review_reasons.append(f"同时有警务事项的表述 ({other[1]})")
        if found.caution:
            review_reasons.append(f"可能有人身安全之虞 ({'、'.join(found.caution[:3])})")

    # Confidence: how far the chosen item leads its nearest rival in another category, and
    # whether there is enough evidence at all.
    same_side = by_side[catalogue.category_of(sub_code).direction]
    rivals = [s for s, code in same_side if code.split(".")[0] != sub_code.split(".")[0]]
    top = scores[sub_code]
    rival = rivals[0] if rivals else 0.0
    if direction != "both" and not safety:
        rival = max(rival, other[0])
    share = top / (top + rival) if top + rival else 0.0
    confidence = round(share * min(1.0, top / (2 * review.min_score)), 2)
    if safety:
        confidence = max(confidence, 0.9)  # the direction is certain; the item may not be
    if found.negated_safety:
        review_reasons.append(f"否定的危险表述: {'、'.join(found.negated_safety)}")
    if not safety and top < review.min_score:
        review_reasons.append("证据不足")
    if not safety and confidence < review.min_confidence:
        review_reasons.append(f"置信度 {confidence:.2f} 低于 {review.min_confidence}")

    evidence = sorted(found.subs[sub_code], key=lambda t: (-found.subs[sub_code][t], t))
    for terms in dangers.values():
        evidence += [t for t in terms if t not in evidence]
    category = catalogue.code_name(sub_code.split(".")[0])
    subcategory = CodeName(code=sub_code, name=sub.name)
    route = self.routing.route(category.code, sub_code, township)
    hotline_route = None
    if direction == "both":
        # the 12345 matter beside the police one, or else the township (属地) for the rest
        if best_hotline[1] and max(found.subs[best_hotline[1]].values()) > WEAK_WEIGHT:
            hotline_route = self.routing.route(best_hotline[1][:3], best_hotline[1], township)
        else:
            hotline_route = self.routing.route("H08", None, township)
    needs_review = bool(review_reasons)
    if not safety and found.cues:
        review_reasons.append(f"危险表述不具体，未联动应急单位 ({'、'.join(found.cues[:3])})")
    hazards = list(dict.fromkeys(found.hazards))
    units = [n.unit for n in notices]
    noted = [] if safety else hazards
    reason = _reason(
        direction, category, subcategory, evidence, safety, notices, route, review_reasons, noted
    )
    return TriageResult.model_construct(
        direction=direction,
        category=category,
        subcategory=subcategory,
        confidence=confidence,
        evidence=evidence[:8],
        reason=reason,
        route=route,
        hotline_route=hotline_route,
        needs_review=needs_review,
        safety=safety,
        emergency_units=units,
        review_reasons=review_reasons,
        catalogue_version=catalogue.version,
        notices=notices,
        hazards=hazards,
    )


def undecided(self, found: Evidence, township: str) -> TriageResult:
    """Nothing in the catalogue matched: police stay cautious, and a person decides."""
    reasons = ["未匹配到联动事项"]
    if found.negated_safety:
        reasons.insert(0, f"否定的危险表述: {'、'.join(found.negated_safety)}")
    if found.cues:
        reasons.insert(0, f"危险表述不具体，未联动应急单位 ({'、'.join(found.cues[:3])})")
    return TriageResult.model_construct(
        direction="police",
        category=None,
        subcategory=None,
        confidence=0.0,
        evidence=found.negated_safety,
        reason=f"未匹配到联动事项，暂留 110，转对接联动专席人工研判 ({'；'.join(reasons)})",
        route=self.routing.route(None, None, township),
        needs_review=True,
        review_reasons=reasons,
        catalogue_version=self.catalogue.version,
        hazards=list(dict.fromkeys(found.hazards)),
    )


def _reason(
    direction: str,
    category: CodeName,
    subcategory: CodeName,
    evidence: list[str],
    safety: list[str],
    notices: list[UnitNotice],
    route: Route,
    review_reasons: list[str],
    hazards: list[str] = (),
) -> str:
    words = "、".join(evidence[:4])
    item = f"{category.name}/{subcategory.name} ({subcategory.code})"
    if safety:
        head = f"安全底线 (“{words}”): 由 110 处置"
        if direction == "both":
            head += "，并会同 12345 相关部门"
        if notices:
            said = "、".join(f"{n.unit}（{'、'.join(n.evidence[:3])}）" for n in notices)
            head += f"，联动应急单位 {said}"
        text = f"{head}；事项 {item}"
    else:
        text = f"依据“{words}”判为{item}，由 {SIDE_LABEL[direction]} 处置"
    text += f"；派往 {route.unit}"
    if hazards:
        text += f"；反映的隐患: {'、'.join(hazards[:4])}"
    if review_reasons:
        text += f"；转对接联动专席复核: {'；'.join(review_reasons)}"
    return text


def unit_notices(catalogue, found: Evidence, units: list[str]) -> list[UnitNotice]:
    """For a present danger, every unit with evidence of its own kind of danger: a danger of
    one of the unit's groups, or one of its words ([notices]). A unit with no [notices] entry
    is notified when a danger found names it (its group's `emergency`), as before."""
    notices = []
    for unit in [*catalogue.notices, *(u for u in units if u not in catalogue.notices)]:
        notice = catalogue.notices.get(unit)
        if notice is None:
            words = [t for terms in found.safety.values() for t in terms]
        else:
            words = [t for g in notice.groups for t in found.safety.get(g, [])]
            words += found.notice_words.get(unit, [])
        words = list(dict.fromkeys(words))
        if words:
            notices.append(UnitNotice(unit=unit, evidence=words[:4]))
    return notices
