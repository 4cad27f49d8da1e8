"""Limits in working days (工作日): "1wd" beside hours in the time-limit table.

12345 rules count working days (sign within 1 working day, handle within 5), skipping public
holidays and counting the adjusted working weekends (调休上班). A limit is a number of hours or
"<n>wd". Working days are counted on a calendar excerpt the incident records when it opens
(linkage.domain.calendar_source builds it from the chinese-calendar package and the district's
overrides), so that workflow code computes every due time from recorded data alone and a replay
computes the same.

N working days from a moment: the same local time on the N-th working day after it; from a
moment on a day off, N working days from 00:00 of the next working day (so "1wd" received on a
Saturday is due at the end of the next working day). Local means Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from linkage.domain.contract import Contract
from linkage.domain.periods import DISTRICT_TZ

WORKING_DAYS = re.compile(r"^\s*([1-9][0-9]?)\s*wd\s*$")
MAX_SCAN_DAYS = 400  # no run of days off is this long; a calendar that says so is refused


def _limit(value: Any) -> Any:
    """Hours as a number, or working days as "<n>wd"; anything else is refused, saying so."""
    if isinstance(value, bool):
        raise ValueError('must be hours (a number) or working days like "1wd"')
    if isinstance(value, int | float):
        if value <= 0:  # worded as pydantic words it for a number
            raise PydanticCustomError("greater_than", "Input should be greater than 0")
        return float(value)
    if isinstance(value, str):
        match = WORKING_DAYS.match(value)
        if match:
            return f"{int(match.group(1))}wd"
    raise ValueError(f'must be hours (a number) or working days like "1wd", not {value!r}')


Limit = Annotated[float | str, BeforeValidator(_limit)]


def working_days(limit: float | str) -> int | None:
    """The number of working days a limit is written in; None for hours."""
    if isinstance(limit, str):
        match = WORKING_DAYS.match(limit)
        return int(match.group(1)) if match else None
    return None


class WorkCalendar(Contract):
    """An excerpt of the working calendar, recorded by the incident that counts on it: the
    weekdays that are days off and the weekend days that are working days, from `start` to
    `end`. Outside it, Monday to Friday are working days."""

    version: str = ""
    start: date
    end: date
    off: list[date] = Field(default_factory=list)  # 法定节假日 on weekdays, district days off
    work: list[date] = Field(default_factory=list)  # 调休上班 on weekends

    def is_workday(self, day: date) -> bool:
        if self.start <= day <= self.end:
            if day in self.work:
                return True
            if day in self.off:
                return False
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        for _ in range(MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                return day
        raise ValueError(f"calendar {self.version}: no working day within {MAX_SCAN_DAYS} days")


def due(start: datetime, days: int, calendar: WorkCalendar) -> datetime:
    """`days` working days after `start` (see the module's rule), in UTC."""
    local = start.astimezone(DISTRICT_TZ)
    day, at = local.date(), local.timetz()
    if not calendar.is_workday(day):
        day, at = calendar.next_workday(day), time(0, tzinfo=DISTRICT_TZ)
    for _ in range(days):
        day = calendar.next_workday(day)
    return datetime.combine(day, at).astimezone(UTC)


def span(limit: float | str, start: datetime, calendar: WorkCalendar | None) -> timedelta:
    """How long a limit runs from `start`: its hours, or up to its working-day due time."""
    days = working_days(limit)
    if days is None:
        return timedelta(hours=float(limit))
    if calendar is None:
        raise ValueError(
            f"a limit of {limit} needs the working calendar the incident records when it opens"
        )
    return due(start, days, calendar) - start


def label(limit: float | str) -> str:
    days = working_days(limit)
    return f"{days} 个工作日" if days is not None else f"{float(limit):g} 小时"
