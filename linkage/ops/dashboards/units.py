"""Values as Grafana shows them for a panel's `fieldConfig.defaults.unit`: counts shortened
(`short`: 1.2 K, 3.4 Mil), ratios as percentages (`percentunit`: 0.05 → 5%; `percent`: 5 → 5%),
durations in the largest fitting unit (`s`, `ms`, `dtdurations`: "29 days, 23 hours"), rates
(`reqps`) and Unix timestamps as a time from now (`dateTimeFromNow`: "in 29 days").
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from zoneinfo import ZoneInfo

_SHORT = ((1e12, " T"), (1e9, " B"), (1e6, " Mil"), (1e3, " K"))
# (seconds in the unit, its name) from the largest
_DURATIONS = (
    (365 * 86400, "year"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "min"),
    (1, "s"),
)
_SUFFIX = {"reqps": " req/s", "ops": " ops/s", "rps": " rd/s", "wps": " wr/s", "Hz": " Hz"}


def number(value: float, decimals: int | None = None) -> str:
    """A plain number: the given decimals, else up to 3 significant digits, no trailing zeros."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if value == 0:
        return "0"
    magnitude = abs(value)
    places = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    if magnitude < 0.001:
        return f"{value:.2g}"
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def short(value: float, decimals: int | None = None) -> str:
    for size, suffix in _SHORT:
        if abs(value) >= size:
            return number(value / size, decimals) + suffix
    return number(value, decimals)


def duration(seconds: float, decimals: int | None = None) -> str:
    """`s`: one unit, the largest in which the value is at least 1 (ms below a second)."""
    magnitude = abs(seconds)
    if 0 < magnitude < 1:
        return f"{number(seconds * 1000, decimals)} ms"
    for size, name in _DURATIONS:
        if magnitude >= size:
            return f"{number(seconds / size, decimals)} {name}"
    return f"{number(seconds, decimals)} s"


def dt_durations(seconds: float) -> str:
    """`dtdurations`: the two largest whole units, "2 days, 3 hours"; negative as "-…"."""
    sign, left = ("-" if seconds < 0 else ""), int(abs(seconds))
    parts = []
    for size, name in _DURATIONS:
        whole, left = divmod(left, size)
        if whole:
            parts.append(f"{whole} {name}{'s' if whole > 1 and name not in ('min', 's') else ''}")
        if len(parts) == 2:
            break
    return sign + (", ".join(parts) or "0 s")


def from_now(timestamp: float, now: float | None = None) -> str:
    """`dateTimeFromNow`: a Unix time (seconds, or milliseconds as Grafana keeps them)."""
    seconds = timestamp / 1000 if timestamp > 1e11 else timestamp
    delta = seconds - (time.time() if now is None else now)
    words = dt_durations(abs(delta)).split(", ")[0]
    return f"in {words}" if delta >= 0 else f"{words} ago"


def date_time(timestamp: float, zone: str) -> str:
    seconds = timestamp / 1000 if timestamp > 1e11 else timestamp
    return datetime.fromtimestamp(seconds, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def fmt(
    value: float | None,
    unit: str | None,
    *,
    decimals: int | None = None,
    now: float | None = None,
    zone: str = "Asia/Shanghai",
) -> str:
    """`value` in `unit`, as a panel shows it; "–" for no value."""
    if value is None or math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    unit = unit or "short"
    if unit == "percent":
        return f"{number(value, decimals)}%"
    if unit == "percentunit":
        return f"{number(value * 100, decimals)}%"
    if unit == "s":
        return duration(value, decimals)
    if unit == "ms":
        return duration(value / 1000, decimals)
    if unit in ("dtdurations", "dtdurationms"):
        return dt_durations(value / 1000 if unit == "dtdurationms" else value)
    if unit == "dateTimeFromNow":
        return from_now(value, now)
    if unit == "dateTimeAsIso":
        return date_time(value, zone)
    if unit in _SUFFIX:
        return short(value, decimals) + _SUFFIX[unit]
    if unit == "none":
        return number(value, decimals)
    if unit == "short":
        return short(value, decimals)
    return f"{short(value, decimals)} {unit}"
