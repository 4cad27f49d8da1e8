"""Triage (非警务类警情甄别): police matter or not, which catalogue item, and which unit.

The description is tokenized by jieba, with every catalogue term in its user dictionary; every
term in the tokenizer's word lattice counts for its subcategory (the longest where terms overlap),
unless negated or in a hypothetical clause. The safety floor is checked first and cannot be
outvoted: a possible danger to life, property or public safety always goes to police. Weak or
conflicting evidence is not guessed at: `needs_review` sends it to the linkage desk.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

from linkage.catalogue import (
    Catalogue,
    CodeName,
    Direction,
    Route,
    RoutingTable,
    load_catalogue,
    load_routing,
)
from linkage.config import format_validation_error

TERM_FREQ = 200_000  # high enough that jieba keeps a catalogue term whole
WEAK_WEIGHT = 0.35
CATEGORY_SHARE = 0.3  # how much a sibling subcategory's evidence counts
NEGATION_WINDOW = 2  # tokens before a term that may negate it
CLAUSE_ENDS = set("，。！？；,.!?;\n")  # a hypothetical ("万一", "去年") lasts until one of these

SIDE_LABEL = {"police": "110", "hotline": "12345", "both": "110 与 12345 会同"}


class TriageRequest(BaseModel):
    """One description to triage (the activity's input and a `linkage triage -` line)."""

    text: str = Field(min_length=1, max_length=4000)
    township: str = Field(default="", max_length=40)


class TriageResult(BaseModel):
    direction: Direction
    category: CodeName | None
    subcategory: CodeName | None
    confidence: float
    evidence: list[str]
    reason: str
    route: Route
    hotline_route: Route | None = Field(
        default=None,
        description="for both sides: where 12345's part goes (the 12345 matter's "
        "unit, or the township)",
    )
    needs_review: bool
    safety: list[str] = Field(default_factory=list, description="safety-floor kinds found")
    emergency_units: list[str] = Field(default_factory=list)
    review_reasons: list[str] = Field(default_factory=list)
    catalogue_version: str


def term_weight(term: str) -> float:
    """Longer, more specific terms count for more than single characters."""
    return {1: 0.8, 2: 1.0, 3: 1.3}.get(len(term), 1.6)


@dataclass
class _Evidence:
    subs: dict[str, dict[str, float]] = field(default_factory=dict)  # sub → term → weight
    safety: dict[str, list[str]] = field(default_factory=dict)  # group → terms
    negated_safety: list[str] = field(default_factory=list)
    caution: list[str] = field(default_factory=list)  # signs of a person in trouble

    def score(self, sub: str) -> float:
        return sum(self.subs.get(sub, {}).values())


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class Triager:
    """Built once per worker (loading the dictionary takes about a second), then shared."""

    def __init__(self, catalogue: Catalogue, routing: RoutingTable) -> None:
        import jieba  # here, so that workflow code importing the result models never loads it

        jieba.setLogLevel(logging.WARNING)
        self.catalogue = catalogue
        self.routing = routing
        self._tokenizer = jieba.Tokenizer()
        self._lock = threading.Lock()
        # term → [(kind, key, weight)]: kind is "sub" or "safety"
        self._index: dict[str, list[tuple[str, str, float]]] = {}
        for cat in catalogue.categories.values():
            for code, sub in cat.subcategories.items():
                if sub.retired:
                    continue
                for term in sub.terms:
                    self._add(term, ("sub", code, term_weight(term)))
                for term in sub.weak_terms:
                    self._add(term, ("sub", code, WEAK_WEIGHT))
        for key, group in catalogue.safety.items():
            for term in group.terms:
                self._add(term, ("safety", key, term_weight(term)))
        self._negations = set(catalogue.language.negations)
        self._hypotheticals = set(catalogue.language.hypotheticals)
        self._caution = set(catalogue.review.caution)
        self._emergency_by_sub: dict[str, list[str]] = {}
        for group in catalogue.safety.values():
            units = self._emergency_by_sub.setdefault(group.subcategory, [])
            units += [u for u in group.emergency if u not in units]
        words = {*self._index, *self._negations, *self._hypotheticals, *self._caution}
        for name, township in routing.townships.items():
            words.update([name, *township.aliases])
        self._tokenizer.initialize()
        for word in sorted(words):
            self._tokenizer.add_word(word, freq=TERM_FREQ)

    def _add(self, term: str, entry: tuple[str, str, float]) -> None:
        self._index.setdefault(term, []).append(entry)

    def tokens(self, text: str) -> list[str]:
        with self._lock:  # jieba's tokenizer is not documented as thread-safe
            return self._tokenizer.lcut(text, HMM=False)

    def _evidence(self, text: str, tokens: list[str]) -> _Evidence:
        """Every catalogue term in the tokenizer's word lattice of the text (not only on the one
        path it chose, so that 油烟 is found even when the path reads 油|烟太大). A single
        character counts only where the path makes it a word of its own."""
        found = _Evidence()
        negated_at = [False] * len(text)  # negated, or in a hypothetical clause
        inside_word: list[int | None] = [None] * len(text)  # the path word, if not a catalogue term
        starts, ends = set(), set()
        position, hypothetical = 0, False
        for i, token in enumerate(tokens):
            if token in CLAUSE_ENDS:
                hypothetical = False
            elif token in self._hypotheticals:
                hypothetical = True
            before = tokens[max(0, i - NEGATION_WINDOW) : i]
            negated = hypothetical or any(t in self._negations for t in before)
            negated_at[position : position + len(token)] = [negated] * len(token)
            if len(token) > 1 and token not in self._index:
                inside_word[position : position + len(token)] = [i] * len(token)
            starts.add(position)
            position += len(token)
            ends.add(position)
        with self._lock:
            lattice = self._tokenizer.get_DAG(text)
        hits = []  # (start, end) of every catalogue term in the lattice
        for start, word_ends in lattice.items():
            for end in word_ends:
                word = text[start : end + 1]
                if len(word) == 1 and not (start in starts and start + 1 in ends):
                    continue
                if word in self._caution and not negated_at[start]:
                    found.caution.append(word)
                if word not in self._index:
                    continue
                if inside_word[start] is not None and inside_word[start] == inside_word[end]:
                    continue  # part of a longer ordinary word: 包车 in 面包车
                hits.append((start, end + 1))
        # The longest term wins where terms overlap inside it: 打不着火 (a stove that will not
        # light) is not 着火, and 烟囱冒黑烟 is not a fire. A district adds such terms to say so.
        hits.sort(key=lambda hit: (hit[0], -hit[1]))
        # By start, longest first: a hit lies inside an earlier one iff it ends no later. One
        # that only overlaps a kept term is dropped too, unless it names a danger.
        kept, reach, kept_reach = [], -1, -1
        for start, end in hits:
            inside = end <= reach
            reach = max(reach, end)
            if inside or (start < kept_reach and not self._is_safety(text[start:end])):
                continue
            kept.append((start, end))
            kept_reach = end
        seen: set[str] = set()
        for start, end in kept:
            word = text[start:end]
            if word in seen:
                continue
            seen.add(word)
            for kind, key, weight in self._index[word]:
                if kind == "safety":
                    if negated_at[start]:
                        found.negated_safety.append(word)
                    else:
                        found.safety.setdefault(key, []).append(word)
                elif not negated_at[start]:
                    found.subs.setdefault(key, {})[word] = weight
        return found

    def _is_safety(self, word: str) -> bool:
        return any(kind == "safety" for kind, _, _ in self._index[word])

    def township_in(self, tokens: list[str]) -> str:
        for token in tokens:
            place = self.routing.township(token)
            if place:
                return place
        return ""

    def triage(self, request: TriageRequest) -> TriageResult:
        text = normalise(request.text)
        tokens = self.tokens(text)
        found = self._evidence(text, tokens)
        township = self.routing.township(request.township) if request.township else None
        township_name = township or request.township or self.township_in(tokens)
        return self._decide(found, township_name)

    # --- the decision -----------------------------------------------------------------------

    def _decide(self, found: _Evidence, township: str) -> TriageResult:
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
                emergency += self._emergency_by_sub.get(sub_code, [])
        emergency = list(dict.fromkeys(emergency))
        # Evidence for a subcategory's siblings speaks a little for it too (same category).
        own = {sub: found.score(sub) for sub in found.subs}
        in_category: dict[str, float] = {}
        for sub, score in own.items():
            in_category[sub[:3]] = in_category.get(sub[:3], 0.0) + score
        scores = {
            sub: score + CATEGORY_SHARE * (in_category[sub[:3]] - score)
            for sub, score in own.items()
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
            return self._undecided(found, township)
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
        reason = self._reason(
            direction, category, subcategory, evidence, safety, emergency, route, review_reasons
        )
        return TriageResult(
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
            emergency_units=emergency,
            review_reasons=review_reasons,
            catalogue_version=catalogue.version,
        )

    def _undecided(self, found: _Evidence, township: str) -> TriageResult:
        """Nothing in the catalogue matched: police stay cautious, and a person decides."""
        reasons = ["未匹配到联动事项"]
        if found.negated_safety:
            reasons.insert(0, f"否定的危险表述: {'、'.join(found.negated_safety)}")
        return TriageResult(
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
        )

    @staticmethod
    def _reason(
        direction: str,
        category: CodeName,
        subcategory: CodeName,
        evidence: list[str],
        safety: list[str],
        emergency: list[str],
        route: Route,
        review_reasons: list[str],
    ) -> str:
        words = "、".join(evidence[:4])
        item = f"{category.name}/{subcategory.name} ({subcategory.code})"
        if safety:
            head = f"安全底线 (“{words}”): 由 110 处置"
            if direction == "both":
                head += "，并会同 12345 相关部门"
            if emergency:
                head += f"，联动应急单位 {'、'.join(emergency)}"
            text = f"{head}；事项 {item}"
        else:
            text = f"依据“{words}”判为{item}，由 {SIDE_LABEL[direction]} 处置"
        text += f"；派往 {route.unit}"
        if review_reasons:
            text += f"；转对接联动专席复核: {'；'.join(review_reasons)}"
        return text


def load_triager() -> Triager:
    """The triager for the district's current catalogue and routing table."""
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


def output_line(result: TriageResult, id_: object = None) -> dict:
    """One `linkage triage -` output line: the names users script against."""
    line: dict = {"id": id_} if id_ is not None else {}
    line.update(result.model_dump(mode="json"))
    return line


def triage_json_line(triager: Triager, raw: str, number: int) -> dict:
    """A JSON Lines input line → its result, or an error line naming the problem."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        return {"id": None, "line": number, "error": f"not valid JSON: {err.msg}"}
    if not isinstance(data, dict):
        return {"id": None, "line": number, "error": "a line must be a JSON object"}
    id_ = data.pop("id", None)
    try:
        request = TriageRequest.model_validate(data)
    except ValidationError as err:
        problem = format_validation_error(f"line {number}", err).replace("\n", "; ")
        return {"id": id_, "line": number, "error": problem}
    return output_line(triager.triage(request), id_)
