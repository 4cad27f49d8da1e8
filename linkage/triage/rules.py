"""The rules' reading of a description: catalogue terms, dangers, and the context they stand in.

The description is tokenized by jieba, with every catalogue term and marker in its user
dictionary; every term in the tokenizer's word lattice counts for its subcategory (the longest
where terms overlap), unless negated or in a hypothetical clause. A danger word counts as a
present danger unless the description is a complaint, proposal or request about a lasting
condition (多年, 一直, 建议, 反映 …) and its sentence says nothing of now (正在, 刚才, 现在 …):
then it is a hazard noted for the department, and the text is weighed as a whole. Numbers
(phones, plates, amounts …) are set aside first (Triager.prepare): 120 counts only alone.
"""

from __future__ import annotations

import re
import unicodedata

from linkage.domain.catalogue import Catalogue
from linkage.triage.evidence import Evidence
from linkage.triage.numbers import NumberReader

TERM_FREQ = 200_000  # high enough that jieba keeps a catalogue term whole
WEAK_WEIGHT = 0.35
NEGATION_WINDOW = 2  # tokens before a term that may negate it
CLAUSE_ENDS = set("，。！？；,.!?;\n")  # a hypothetical ("万一", "去年") lasts until one of these
SENTENCE_ENDS = set("。！？；.!?;\n")  # "now" (正在, 刚才) speaks for its whole sentence
_ASCII_ALNUM = re.compile("[a-zA-Z0-9]").match
LONG_TEXT = 60  # characters: one complaint marker makes a text this long a complaint


def term_weight(term: str) -> float:
    """Longer, more specific terms count for more than single characters."""
    return {1: 0.8, 2: 1.0, 3: 1.3}.get(len(term), 1.6)


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class RuleReader:
    """Built once per worker (loading the dictionary takes about a second), then shared."""

    def __init__(self, catalogue: Catalogue, extra_words: list[str]) -> None:
        self.catalogue = catalogue
        # term → [(kind, key, weight)]: kind is "sub" or "safety"
        self._index: dict[str, list[tuple[str, str, float]]] = {}
        self._danger_subs, lasting_subs = set(), set()
        for cat in catalogue.categories.values():
            for code, sub in cat.subcategories.items():
                if sub.retired:
                    continue
                if sub.safety:
                    self._danger_subs.add(code)
                if sub.lasting:
                    lasting_subs.add(code)
                for term in sub.terms:
                    self._add(term, ("sub", code, term_weight(term)))
                for term in sub.weak_terms:
                    self._add(term, ("sub", code, WEAK_WEIGHT))
        # every subcategory (retired too) and its side, for the decision's many lookups
        self.subs = {
            c: s for cat in catalogue.categories.values() for c, s in cat.subcategories.items()
        }
        self.side_of = {
            c: cat.direction for cat in catalogue.categories.values() for c in cat.subcategories
        }
        self.units_by_sub: dict[str, list[str]] = {}  # the units a danger's groups name
        for key, group in catalogue.safety.items():
            for term in group.terms:
                self._add(term, ("safety", key, term_weight(term)))
            units = self.units_by_sub.setdefault(group.subcategory, [])
            units += [u for u in group.emergency if u not in units]
        # A generic danger cue (很危险, 刺鼻) is never a danger term itself, wherever it is listed:
        # it sends the description to the desk, and counts only for what is not a danger.
        for word in catalogue.review.danger_cues:
            entries = [
                (kind, key, w)
                for kind, key, w in self._index.get(word, [])
                if kind == "sub" and key not in self._danger_subs
            ]
            if entries:
                self._index[word] = entries
            else:
                self._index.pop(word, None)
        self._lasting_subs = lasting_subs
        # A word is a lasting danger when every danger it names can be a lasting condition.
        self._lasting = set()
        for word, entries in self._index.items():
            kinds = [
                catalogue.safety[key].lasting if kind == "safety" else key in lasting_subs
                for kind, key, w in entries
                if kind == "safety" or (key in self._danger_subs and w > WEAK_WEIGHT)
            ]
            if kinds and all(kinds):
                self._lasting.add(word)
        language, review = catalogue.language, catalogue.review
        self._negations = set(language.negations)
        self._hypotheticals = set(language.hypotheticals)
        # marker → kinds: caution, cue, complaint, present, or "notice:<unit>"
        self._markers: dict[str, set[str]] = {}
        for kind, words in (
            ("caution", review.caution),
            ("cue", review.danger_cues),
            ("complaint", language.complaint),
            ("present", language.present),
            ("urgent", language.urgent),
        ):
            for word in words:
                self._markers.setdefault(word, set()).add(kind)
        for unit, notice in catalogue.notices.items():
            for word in notice.terms:
                self._markers.setdefault(word, set()).add(f"notice:{unit}")
        self._wanted = {*self._index, *self._markers}
        words = {*self._index, *self._negations, *self._hypotheticals, *self._markers}
        words.update(extra_words)
        self.numbers = NumberReader(words)  # its words written with digits are read as written
        # here, so that workflow code importing the result models never loads the dictionary
        from linkage.triage.lexicon import Lexicon

        self._lexicon = Lexicon(words, TERM_FREQ)  # jieba's dictionary and these words

    def _add(self, term: str, entry: tuple[str, str, float]) -> None:
        self._index.setdefault(term, []).append(entry)

    def tokens(self, text: str) -> list[str]:
        return self.parse(text)[0]

    def parse(self, text: str) -> tuple[list[str], dict[int, list[int]]]:
        """The tokenizer's path through the text (jieba's cut without HMM) and its word
        lattice, from one lattice: the same path as jieba.lcut(HMM=False) takes, at half its
        cost, since the lattice is needed anyway."""
        lattice, weights = self._lexicon.lattice(text)
        route = self._lexicon.path(text, lattice, weights)
        tokens, x, n, letters = [], 0, len(text), ""
        while x < n:
            y = route[x] + 1
            word = text[x:y]
            if y - x == 1 and _ASCII_ALNUM(word):
                letters += word  # a run of letters and digits is one word, as jieba makes it
            else:
                if letters:
                    tokens.append(letters)
                    letters = ""
                tokens.append(word)
            x = y
        if letters:
            tokens.append(letters)
        return tokens, lattice

    def is_danger(self, word: str) -> bool:
        return any(
            kind == "safety" or (kind == "sub" and key in self._danger_subs and w > WEAK_WEIGHT)
            for kind, key, w in self._index.get(word, [])
        )

    def read(self, text: str, tokens: list[str], lattice: dict | None = None) -> Evidence:
        """Every catalogue term in the tokenizer's word lattice of the text (not only on the one
        path it chose, so that 油烟 is found even when the path reads 油|烟太大). A single
        character counts only where the path makes it a word of its own."""
        found = Evidence()
        negated_at = [False] * len(text)  # negated, or in a hypothetical clause
        inside_word: list[int | None] = [None] * len(text)  # the path word, if not a term
        sentence_at = [0] * len(text)
        starts = set()  # where path words start (a path word also ends where the next starts)
        position, hypothetical, sentence = 0, False, 0
        negations, hypotheticals, index = self._negations, self._hypotheticals, self._index
        negated_by = 0  # tokens still under a negation just seen (NEGATION_WINDOW of them)
        for i, token in enumerate(tokens):
            size = len(token)
            if token in CLAUSE_ENDS:
                hypothetical = False
                if token in SENTENCE_ENDS:
                    sentence += 1
            elif token in hypotheticals:
                hypothetical = True
            if hypothetical or negated_by:
                negated_at[position : position + size] = [True] * size
            negated_by = NEGATION_WINDOW if token in negations else max(0, negated_by - 1)
            if sentence:
                sentence_at[position : position + size] = [sentence] * size
            if size > 1 and token not in index:
                inside_word[position : position + size] = [i] * size
            starts.add(position)
            position += size
        ends = starts | {position}
        if lattice is None:
            lattice = self._lexicon.lattice(text)[0]
        hits, markers = [], []  # (start, end) of every catalogue term / marker in the lattice
        wanted, index, marker_words = self._wanted, self._index, self._markers
        for start, word_ends in lattice.items():
            for end in word_ends:
                word = text[start : end + 1]
                if word not in wanted:
                    continue
                if end == start and not (start in starts and start + 1 in ends):
                    continue
                if word in marker_words:
                    markers.append((start, end + 1))
                if word not in index:
                    continue
                if inside_word[start] is not None and inside_word[start] == inside_word[end]:
                    continue  # part of a longer ordinary word: 包车 in 面包车
                hits.append((start, end + 1))
        marked = self._markers_found(text, _longest(markers), negated_at, sentence_at, found)
        now = marked["present"]  # sentences that speak of now
        complaint = len(set(found.complaint))
        found.is_complaint = complaint >= 2 or (complaint >= 1 and len(text) >= LONG_TEXT)

        def present(start: int) -> bool:
            return not found.is_complaint or sentence_at[start] in now

        this_moment = marked["urgent"]

        def urgent(start: int) -> bool:  # said to happen this moment, complaint or not
            return sentence_at[start] in this_moment

        for word, start in marked["caution"]:
            (found.caution if present(start) else found.hazards).append(word)
        for word, start in marked["cue"]:
            (found.cues if present(start) else found.hazards).append(word)
        for kind, entries in marked.items():
            if kind.startswith("notice:"):
                words = [w for w, start in entries if present(start)]
                if words:
                    found.notice_words[kind.removeprefix("notice:")] = words
        self._terms_found(text, hits, negated_at, present, found, urgent)
        return found

    def _markers_found(self, text, markers, negated_at, sentence_at, found) -> dict:
        marked: dict = {"present": set(), "urgent": set(), "caution": [], "cue": []}
        for start, end in markers:
            word = text[start:end]
            kinds = self._markers[word]
            if "complaint" in kinds:
                found.complaint.append(word)
            if "present" in kinds:
                found.present.append(word)
                marked["present"].add(sentence_at[start])
            if "urgent" in kinds:
                marked["urgent"].add(sentence_at[start])
            if negated_at[start]:
                continue
            for kind in kinds - {"complaint", "present", "urgent"}:
                marked.setdefault(kind, []).append((word, start))
        return marked

    def _terms_found(self, text, hits, negated_at, present, found: Evidence, urgent) -> None:
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
            if negated_at[start]:
                if self._is_safety(word):
                    found.negated_safety.append(word)
                continue
            lasting = not present(start)  # in a complaint, and not said to be happening now
            if lasting and word in self._lasting:
                found.hazards.append(word)  # a hazard in a complaint: noted, counts for nothing
                continue
            for kind, key, weight in self._index[word]:
                if kind == "safety":
                    found.safety.setdefault(key, []).append(word)
                    if urgent(start) and word not in found.urgent:
                        found.urgent.append(word)
                else:
                    if lasting and key in self._lasting_subs:
                        weight = min(weight, WEAK_WEIGHT)  # 交通拥堵 in a complaint: context
                    found.subs.setdefault(key, {})[word] = weight
                    danger = key in self._danger_subs and weight > WEAK_WEIGHT
                    if danger and urgent(start) and word not in found.urgent:
                        found.urgent.append(word)

    def _is_safety(self, word: str) -> bool:
        return any(kind == "safety" for kind, _, _ in self._index[word])


def _longest(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans not inside a longer one: 到现在 (a lasting condition) is not 现在 (now)."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    kept, reach = [], -1
    for start, end in spans:
        if end <= reach:
            continue
        kept.append((start, end))
        reach = end
    return kept
