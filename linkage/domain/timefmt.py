"""Times as people and scripts read them: one zone for the district (`LINKAGE_TZ`, default
Asia/Shanghai) everywhere, minutes for a person, ISO 8601 with the offset for `--json`.

A datetime without a zone (SQLite hands them back so) is taken as UTC, which is what every
part of the system writes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import to_jsonable_python

from linkage.settings.config import ConfigError

DEFAULT_ZONE = "Asia/Shanghai"


def district_zone() -> ZoneInfo:
    name = os.environ.get("LINKAGE_TZ", DEFAULT_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"LINKAGE_TZ: unknown time zone {name!r}, e.g. Asia/Shanghai") from None


def _aware(at: datetime | str) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def local(at: datetime | str) -> str:
    """For a person: `2026-11-29 09:30` in the district's zone."""
    return _aware(at).astimezone(district_zone()).strftime("%Y-%m-%d %H:%M")


def iso(at: datetime | str) -> str:
    """For a script: `2026-11-29T09:30:00+08:00`, ISO 8601 with the district's offset."""
    return _aware(at).astimezone(district_zone()).isoformat(timespec="seconds")


def jsonable(value: Any) -> Any:
    """A model dump (python mode) or plain data, ready for json.dumps: every datetime as `iso`."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return to_jsonable_python(value, fallback=str)
