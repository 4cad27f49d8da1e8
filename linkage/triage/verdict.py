"""The rules' decision: the safety floor, the best catalogue item, the notices, and the rules'
own doubts (weak or conflicting evidence, a negated danger, a generic danger cue).

The safety floor is checked first and cannot be outvoted: a present danger goes to police, with
a notice for each emergency unit whose kind of danger the words show. Evidence for a
subcategory's siblings speaks a little for it too; a second matter as clear as the first makes
both sides (会同).
"""

from __future__ import annotations

from linkage.domain.catalogue import CodeName, Direction
from linkage.domain.routing import Route
from linkage.domain.triage_result import TriageResult, UnitNotice
from linkage.triage.evidence import Evidence
from linkage.triage.rules import WEAK_WEIGHT, term_weight

CATEGORY_SHARE = 0.3  # how much a sibling subcategory's evidence counts
SIDE_LABEL = {"police": "110", "hotline": "12345", "both": "110 与 12345 会同"}


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
    subs, side_of = self.rules.subs, self.rules.side_of
    for sub_code, terms in sorted(found.subs.items()):
        sub = subs.get(sub_code)
        if sub is not None and sub.safety and max(terms.values()) > WEAK_WEIGHT:
            dangers.setdefault(sub.name, list(terms))
            emergency += self.rules.units_by_sub.get(sub_code, [])
    emergency = list(dict.fromkeys(emergency))
    notices = unit_notices(catalogue, found, emergency) if dangers else []
    # Evidence for a subcategory's siblings speaks a little for it too (same category).
    own = {sub: sum(terms.values()) for sub, terms in found.subs.items()}
    in_category: dict[str, float] = {}
    for sub, score in own.items():
        in_category[sub[:3]] = in_category.get(sub[:3], 0.0) + score
    scores = {
        sub: score + CATEGORY_SHARE * (in_category[sub[:3]] - score) for sub, score in own.items()
    }
    by_side: dict[str, list[tuple[float, str]]] = {"police": [], "hotline": []}
    for sub, score in scores.items():
        by_side[side_of[sub]].append((score, sub))
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
    same_side = by_side[side_of[sub_code]]
    category_code = sub_code.split(".")[0]
    rivals = [s for s, code in same_side if not code.startswith(category_code)]
    top = scores[sub_code]
    rival = rivals[0] if rivals else 0.0
    if direction != "both" and not safety:
        rival = max(rival, other[0])
    share = top / (top + rival) if top + rival else 0.0
    confidence = round(share * min(1.0, top / (2 * review.min_score)), 2)
    if safety:
        confidence = max(confidence, 0.9)  # the direction is certain; the item may not be
    if found.negated_safety and not found.is_complaint:
        review_reasons.append(f"否定的危险表述: {'、'.join(found.negated_safety)}")
    elif found.negated_safety:  # 万一着火 in a complaint: a hazard noted, not a doubt
        found.hazards.extend(found.negated_safety)
    if not safety and top < review.min_score:
        review_reasons.append("证据不足")
    if not safety and confidence < review.min_confidence:
        review_reasons.append(f"置信度 {confidence:.2f} 低于 {review.min_confidence}")

    evidence = sorted(found.subs[sub_code], key=lambda t: (-found.subs[sub_code][t], t))
    for terms in dangers.values():
        evidence += [t for t in terms if t not in evidence]
    category = catalogue.code_name(sub_code.split(".")[0])
    subcategory = CodeName(code=sub_code, name=sub.name)
    route = self.route(category.code, sub_code, township)
    hotline_route = None
    if direction == "both":
        # the 12345 matter beside the police one, or else the township (属地) for the rest
        if best_hotline[1] and max(found.subs[best_hotline[1]].values()) > WEAK_WEIGHT:
            hotline_route = self.route(best_hotline[1][:3], best_hotline[1], township)
        else:
            hotline_route = self.route("H08", None, township)
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
        route=self.route(None, None, township),
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
