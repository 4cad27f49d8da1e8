"""What a Grafana dashboard's JSON means for a drawing: its panels in grid order, its variables
put into an expression as Grafana would, a series' legend from `legendFormat`, a series reduced
to one value (`reduceOptions.calcs`) and the colour its thresholds give that value.

Grafana's own variables depend on the time range and the query's step: `$__interval` is the
step, `$__range` the whole range, and `$__rate_interval` (for `rate()` and `increase()`) is
max(step + scrape interval, 4 × scrape interval), so a rate always spans a few scrapes.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

# Grafana's named colours (the ones thresholds use) and its classic palette for series
COLOURS = {
    "green": "#56a64b",
    "red": "#e02f44",
    "yellow": "#f2cc0c",
    "orange": "#ff780a",
    "blue": "#3274d9",
    "purple": "#a352cc",
    "text": "#464c54",
    "transparent": "transparent",
}
PALETTE = (
    "#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
    "#508642", "#cca300", "#447ebc", "#c15c17", "#890f02", "#0a437c", "#6d1f62", "#584477",
    "#b7dbab", "#f4d598", "#70dbed", "#f9ba8f",
)  # fmt: skip


@dataclass(frozen=True)
class Board:
    title: str
    uid: str
    timezone: str
    panels: list[dict]  # rows and the panels inside them, each at its gridPos
    variables: dict[str, str]  # the dashboard's own (custom, constant, textbox) at their values

    @classmethod
    def load(cls, path: Path) -> Board:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            title=raw.get("title", path.stem),
            uid=raw.get("uid", path.stem),
            timezone=_zone(raw.get("timezone")),
            panels=flatten(raw.get("panels", [])),
            variables=own_variables(raw),
        )

    @property
    def rows(self) -> int:
        """The grid's height in rows."""
        return max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in self.panels), default=0)


def _zone(given: str | None) -> str:
    """The dashboard's time zone; the reader's ("browser", unset) is the district's."""
    if given == "utc":
        return "UTC"
    if given and given != "browser":
        return given
    return os.environ.get("LINKAGE_TZ", "Asia/Shanghai")


def flatten(panels: list[dict]) -> list[dict]:
    """Every panel with a gridPos, in the order Grafana lays them out (top to bottom, left to
    right). An expanded row's panels are at the top level already; a collapsed row keeps its
    own inside, which are drawn after it with their own gridPos (Grafana opens it there)."""
    found = []
    for panel in panels:
        if "gridPos" in panel:
            found.append(panel)
        found += [p for p in panel.get("panels", []) if "gridPos" in p]
    return sorted(found, key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))


def own_variables(raw: dict) -> dict[str, str]:
    """The values of the dashboard's own variables; an "All" or multi-value one as a regex."""
    found = {}
    for variable in raw.get("templating", {}).get("list", []):
        if variable.get("type") not in ("custom", "constant", "textbox", "interval"):
            continue
        value = variable.get("current", {}).get("value", variable.get("query", ""))
        if isinstance(value, list):
            value = "|".join(value)
        found[variable["name"]] = ".*" if value in ("$__all", "") else str(value)
    return found


def rate_interval(step: float, scrape: float) -> float:
    return max(step + scrape, 4 * scrape)


def duration(seconds: float) -> str:
    """A PromQL duration: whole seconds (Prometheus takes 90s as well as 1m30s)."""
    return f"{max(1, math.ceil(seconds))}s"


def substitute(
    expr: str,
    *,
    step: float,
    range_seconds: float,
    scrape: float,
    variables: dict[str, str] | None = None,
) -> str:
    """`expr` with Grafana's variables put in, as `$name`, `${name}` and `[[name]]`."""
    values = {
        "__rate_interval": duration(rate_interval(step, scrape)),
        "__interval": duration(step),
        "__range": duration(range_seconds),
        "__interval_ms": str(int(step * 1000)),
        "__range_s": str(int(range_seconds)),
        "__range_ms": str(int(range_seconds * 1000)),
        "__rate_interval_ms": str(int(rate_interval(step, scrape) * 1000)),
        **(variables or {}),
    }

    def put(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", put, expr)


def legend(template: str | None, labels: dict[str, str]) -> str:
    """`{{label}}` replaced by the series' label (empty when it has none); with no template,
    the series as Prometheus names it, `name{a="b"}`."""
    if template and template != "__auto":
        text = re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
        return " ".join(text.split()) or template
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def reduce(values: list[float | None], calcs: list[str] | None) -> float | None:
    """One value of a series, by the panel's first calculation (lastNotNull by default)."""
    present = [v for v in values if v is not None]
    calc = (calcs or ["lastNotNull"])[0]
    if calc == "last":
        return values[-1] if values else None
    if not present:
        return None
    by = {
        "lastNotNull": lambda: present[-1],
        "firstNotNull": lambda: present[0],
        "first": lambda: present[0],
        "mean": lambda: sum(present) / len(present),
        "max": lambda: max(present),
        "min": lambda: min(present),
        "sum": lambda: sum(present),
        "count": lambda: float(len(present)),
        "delta": lambda: present[-1] - present[0],
        "range": lambda: max(present) - min(present),
    }
    return by.get(calc, by["lastNotNull"])()


def colour(name: str | None, fallback: str = PALETTE[0]) -> str:
    if not name:
        return fallback
    return COLOURS.get(name.split("-")[-1], name) if not name.startswith("#") else name


def threshold_colour(defaults: dict, value: float | None) -> str | None:
    """The colour of the last threshold step at or below `value` (absolute mode), or None
    when the panel colours by something else."""
    if defaults.get("color", {}).get("mode") != "thresholds" or value is None:
        return None
    steps = defaults.get("thresholds", {}).get("steps", [])
    chosen = None
    for step in steps:
        if step.get("value") is None or value >= step["value"]:
            chosen = step.get("color")
    return colour(chosen) if chosen else None
