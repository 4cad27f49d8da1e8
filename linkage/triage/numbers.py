"""Numbers set aside before a description is read: only a stand-alone 110, 119 or 120 counts.

A phone number (13812012345, 0512-66120123, 138 1201 2345), an ID number, a plate (苏E·12012),
an amount (1200元, ¥120, 120块), a date or time (2024年12月0日, 12:00), a house or room number
(120号, 1201室), a code beside letters or a label (K120, 工号120), a quantity (120米, 120人) and
any other run of more than three digits is recognised first, and its digits are replaced by
PLACEHOLDER, one letter for one digit: the text keeps its length and its words, and a number
stays one token, so neither the rules (their terms and hotline numbers) nor the model (its
n-grams and facts) can read a 110, 119 or 120 inside it. A 5-digit 123xx service hotline
(12345, 12315) is left as written; it cannot hold 110, 119 or 120. A quantity right after a
calling verb is the number called (打了120人还没来), and a catalogue word written with digits
(24小时开工) is read as written.

The text is normalised first (full-width digits and punctuation are ASCII), and the same
function serves training and reading, so that the model's features are computed alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDER = "x"  # ASCII, so a number stays one token: jieba's path runs letters together
_DIGIT = re.compile("[0-9]")
_SEP = r"(?:[ \-‐‑‒–—―·・•/.,_~]{1,3})"  # inside a phone or ID number written in groups
_CHAIN = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*")
_GROUP = re.compile("[0-9]+")
_SHAPES = (
    ("phone", re.compile(r"(?:86)?1[3-9][0-9]{9}")),  # a mobile
    ("phone", re.compile(r"0[0-9]{9,11}")),  # a landline with its area code
    ("phone", re.compile(r"[2-9][0-9]{6,7}")),  # a local landline
    ("id", re.compile(r"[0-9]{15}|[0-9]{17}[0-9Xx]")),
)
_NUM = r"(?<![0-9])[0-9]+(?:\.[0-9]+)?(?:\s?[-~到至]\s?[0-9]+(?:\.[0-9]+)?)?[多余几来]?"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_LABELS = (
    "编号|工号|警号|单号|订单号|卡号|账号|帐号|尾号|房号|房间号|门牌号|门牌|车牌号|车牌|车次|"
    "座位号|学号|证号|身份证号|身份证"
)
_PLATE = rf"[{_PROVINCES}]\s?[A-Za-z]{_SEP}?(?:[A-Za-z0-9]{{5,6}}|[A-Za-z0-9]{{4}}[警学挂港澳领])"
_KINDS = [
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("plate", _PLATE),
        ("amount", r"[¥$]\s?[0-9][0-9,]*(?:\.[0-9]+)?"),
        ("amount", rf"{_NUM}(?:[十百千万]*(?:元|块|美元|港币|人民币)|万(?![一分])|亿)"),
        ("date", rf"{_NUM}(?:年|月|日)"),
        ("date", r"(?<![0-9])[0-9]{4}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?(?![0-9])"),
        ("time", r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?![0-9])"),
        ("time", r"(?<![0-9])[0-9]{1,2}[点时](?:[0-9]{1,2}分?|半|整)?"),
        ("house", rf"{_NUM}(?:号(?!码)|室|栋|幢|单元|弄)"),
        ("house", r"(?:第|#|[Nn][Oo]\.?)\s?[0-9]+|(?<![0-9])[0-9]+#"),
        ("decimal", r"(?<![0-9])[0-9]+(?:\.[0-9]+%?|%)"),
        ("code", r"[A-Za-z][0-9]{3,}|(?<![0-9])[0-9]{3,}[A-Za-z]"),
        ("code", rf"(?:{_LABELS})\s?[:是为]?\s?[0-9]+"),
        ("phone", r"(?<=[0-9]{4})(?:转|分机)[0-9]{1,6}"),  # an extension: 0512-66120123转120
    )
]
# A quantity: set aside unless it follows a calling verb (打了120人还没来 is the number called).
_QUANTITY = re.compile(
    rf"{_NUM}(?:人(?!员|家)|个(?!人)|次|趟|辆|米|公里|千米|斤|公斤|千克|吨|分贝|平米|平方|亩|"
    r"分钟|秒|小时|个月|岁|层|路(?=公交|公车|汽车|车|班车|线))"
)
_CALLED = re.compile(r"(?:打|拨|叫|报|呼|喊|联系|通知|找)(?:了|过|个)?\s?$")
_LONG = re.compile("[0-9]{4,}")
_SERVICE = re.compile("123[0-9]{2}")  # 12345, 12315 …: a service hotline, left as written


@dataclass(frozen=True)
class Number:
    start: int
    end: int
    kind: str


class NumberReader:
    """Finds the numbers of a text and sets them aside; `words` written with digits (the
    catalogue's 24小时开工, 12315) are kept as written wherever a number lies inside one."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        kept = sorted(
            {w for w in words if _DIGIT.search(w) and not (w.isdigit() and len(w) <= 3)},
            key=lambda w: (-len(w), w),
        )
        self._kept = re.compile("|".join(map(re.escape, kept))) if kept else None

    def find(self, text: str) -> list[Number]:
        """Every number recognised in the text, by position (overlapping ones included)."""
        if not _DIGIT.search(text):
            return []
        found = _chains(text)
        for kind, pattern in _KINDS:
            found += [Number(m.start(), m.end(), kind) for m in pattern.finditer(text)]
        for match in _QUANTITY.finditer(text):
            if not _CALLED.search(text, max(0, match.start() - 4), match.start()):
                found.append(Number(match.start(), match.end(), "quantity"))
        for match in _LONG.finditer(text):
            if not _SERVICE.fullmatch(match.group()):
                found.append(Number(match.start(), match.end(), "number"))
        if self._kept is not None:
            words = [(m.start(), m.end()) for m in self._kept.finditer(text)]
            found = [n for n in found if not any(s <= n.start and n.end <= e for s, e in words)]
        return sorted(found, key=lambda n: (n.start, -n.end))

    def set_aside(self, text: str) -> str:
        """The text with every digit of every number found replaced by PLACEHOLDER."""
        numbers = self.find(text)
        if not numbers:
            return text
        parts, at = [], 0
        for number in numbers:
            start = max(at, number.start)
            if start >= number.end:
                continue
            parts += [text[at:start], _DIGIT.sub(PLACEHOLDER, text[start : number.end])]
            at = number.end
        parts.append(text[at:])
        return "".join(parts)


def _chains(text: str) -> list[Number]:
    """Digit groups joined by spaces, dashes or dots that together make a phone or ID number
    (138 120 12345, 0512-120-4567): the shortest run of groups, from each group, that does.
    Groups that make none are left to the other rules, each on its own (打了120,110)."""
    found = []
    for chain in _CHAIN.finditer(text):
        groups = [
            (g.start() + chain.start(), g.end() + chain.start())
            for g in _GROUP.finditer(chain.group())
        ]
        i = 0
        while i < len(groups):
            digits, match = "", None
            for j in range(i, len(groups)):
                digits += text[groups[j][0] : groups[j][1]]
                if len(digits) > 18:
                    break
                end = groups[j][1]
                if len(digits) == 17 and text[end : end + 1] in ("X", "x"):
                    digits, end = digits + "X", end + 1
                kind = next((k for k, shape in _SHAPES if shape.fullmatch(digits)), None)
                if kind:
                    match = (j, Number(groups[i][0], end, kind))
                    break
            if match:
                i = match[0] + 1
                found.append(match[1])
            else:
                i += 1
    return found
