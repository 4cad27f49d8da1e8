"""Periods of the periodic reviews (月研判 / 季会商 / 年总结), in the district's time zone.

A period is named as a person writes it (2026-11, 2026-Q4, 2026) and covers [start, end) in
Asia/Shanghai; the review a schedule runs at a moment is the period that ended before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")
KINDS = ("monthly", "quarterly", "annual")
KIND_LABELS = {"monthly": "月研判", "quarterly": "季会商", "annual": "年总结"}

_PATTERNS = {
    "monthly": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarterly": re.compile(r"^(\d{4})-Q([1-4])$"),
    "annual": re.compile(r"^(\d{4})$"),
}
_EXAMPLES = {"monthly": "2026-11", "quarterly": "2026-Q4", "annual": "2026"}


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    index: int  # month 1–12, quarter 1–4, or 1 for a year

    @classmethod
    def parse(cls, kind: str, text: str) -> Period:
        if kind not in KINDS:
            raise ValueError(f"kind: one of {', '.join(KINDS)}, not {kind!r}")
        match = _PATTERNS[kind].match(text.strip())
        if not match:
            example = _EXAMPLES[kind]
            raise ValueError(f"--period: a {kind} period looks like {example}, not {text!r}")
        year = int(match.group(1))
        index = int(match.group(2)) if kind != "annual" else 1
        if kind == "monthly" and not 1 <= index <= 12:
            raise ValueError(f"--period: month {index:02d} does not exist")
        return cls(kind, year, index)

    @classmethod
    def before(cls, kind: str, moment: datetime) -> Period:
        """The period that ended last before `moment` (what a schedule firing then reviews)."""
        local = moment.astimezone(DISTRICT_TZ)
        current = cls.containing(kind, local)
        return current.previous()

    @classmethod
    def containing(cls, kind: str, moment: datetime) -> Period:
        local = moment.astimezone(DISTRICT_TZ)
        if kind == "monthly":
            return cls(kind, local.year, local.month)
        if kind == "quarterly":
            return cls(kind, local.year, (local.month - 1) // 3 + 1)
        return cls(kind, local.year, 1)

    @property
    def label(self) -> str:
        if self.kind == "monthly":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarterly":
            return f"{self.year}-Q{self.index}"
        return str(self.year)

    @property
    def title(self) -> str:
        if self.kind == "monthly":
            return f"{self.year}年{self.index}月"
        if self.kind == "quarterly":
            return f"{self.year}年第{self.index}季度"
        return f"{self.year}年"

    def _first_month(self) -> int:
        return {"monthly": self.index, "quarterly": 3 * self.index - 2, "annual": 1}[self.kind]

    def _months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.kind]

    @property
    def start(self) -> datetime:
        return datetime(self.year, self._first_month(), 1, tzinfo=DISTRICT_TZ)

    @property
    def end(self) -> datetime:
        month = self._first_month() - 1 + self._months()
        return datetime(self.year + month // 12, month % 12 + 1, 1, tzinfo=DISTRICT_TZ)

    def previous(self) -> Period:
        if self.kind == "annual" or self.index == 1:
            last = {"monthly": 12, "quarterly": 4, "annual": 1}[self.kind]
            return Period(self.kind, self.year - 1, last)
        return Period(self.kind, self.year, self.index - 1)

    def months(self) -> list[Period]:
        first = self._first_month()
        return [Period("monthly", self.year, first + i) for i in range(self._months())]
