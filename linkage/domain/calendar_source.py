"""Where the working calendar comes from: China's public holidays and adjusted working days
(the chinese-calendar package) with the district's overrides (temporal-config/workdays.toml).

Read in an activity only (the incident's opening): the excerpt it returns is recorded with the
incident's time-limit table, so a later change of the package or the file never changes a due
time an incident already counts on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from linkage.domain.periods import DISTRICT_TZ
from linkage.domain.workdays import WorkCalendar
from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir

EXCERPT_DAYS = 400  # ahead of the opening: longer than any incident stays open


class Overrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=40)
    days: dict[date, Literal["off", "work"]] = Field(default_factory=dict)


def load_overrides(path: Path | None = None) -> Overrides:
    path = path or config_dir() / "workdays.toml"
    if not path.exists():
        return Overrides(version="none")
    try:
        return Overrides.model_validate(read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err


def _national(day: date) -> bool | None:
    """Whether the national calendar makes the day a working day; None where the package has
    no data yet (a year not yet published)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def excerpt(at: datetime, overrides: Overrides | None = None) -> WorkCalendar:
    """The calendar from a week before `at` to EXCERPT_DAYS after it."""
    overrides = overrides or load_overrides()
    start = at.astimezone(DISTRICT_TZ).date() - timedelta(days=7)
    end = start + timedelta(days=EXCERPT_DAYS)
    off, work = [], []
    day = start
    while day <= end:
        weekday = day.weekday() < 5
        working = overrides.days.get(day)
        workday = (working == "work") if working else _national(day)
        if workday is None:
            workday = weekday  # beyond the package's data: weekends off, as the fallback
        if weekday and not workday:
            off.append(day)
        elif not weekday and workday:
            work.append(day)
        day += timedelta(days=1)
    version = f"chinese-calendar {chinese_calendar.__version__}+{overrides.version}"
    return WorkCalendar(version=version, start=start, end=end, off=off, work=work)
