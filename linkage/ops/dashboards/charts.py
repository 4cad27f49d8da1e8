"""The drawings, as inline SVG sized in pixels on the server: a time series as lines over time
axes, a bar gauge as horizontal bars, a pie chart as a donut. Nothing runs in the browser."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

AXIS = "#8e8e8e"
GRID = "#e4e4e4"
FONT = 11
# Time ticks to choose from (seconds), the smallest that leaves room for the labels; the same
# steps for a value axis of durations, so that it reads 1 min, 2 min, not 1.67 min
TICKS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
DURATION_TICKS = (*TICKS, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    times: list[float]
    values: list[float | None]


def text_width(text: str, size: float = FONT) -> float:
    """About how wide `text` is drawn: a CJK character a full em, others a little over half."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """Round values from at most `low` to at least `high`, about `count` of them."""
    if high <= low:
        high = low + (abs(low) or 1)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value < high + step * 0.5:
        ticks.append(round(value, 12))
        value += step
    return ticks if len(ticks) > 1 else [first, first + step]


def duration_ticks(low: float, high: float, count: int, per_value: float) -> list[float]:
    """Value ticks for durations (`per_value` seconds each, 0.001 for ms): below half a minute
    a step as nice_ticks chooses, above it a whole number of seconds, minutes, hours, days."""
    raw = (high - low) * per_value / max(1, count)
    if raw < 30:
        return nice_ticks(low, high, count)
    step = next((t for t in DURATION_TICKS if t >= raw), DURATION_TICKS[-1]) / per_value
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int(math.ceil((high - first) / step)) + 1)]


def time_ticks(start: float, end: float, width: float, zone: str) -> list[tuple[float, str]]:
    tz = ZoneInfo(zone)
    offset = datetime.fromtimestamp(start, tz).utcoffset().total_seconds()
    room = max(2, int(width // 70))
    interval = next((t for t in TICKS if (end - start) / t <= room), TICKS[-1])
    shape = "%H:%M:%S" if interval < 60 else "%m-%d" if interval >= 86400 else "%H:%M"
    first = math.ceil((start + offset) / interval) * interval - offset
    found, moment = [], first
    while moment <= end:
        found.append((moment, datetime.fromtimestamp(moment, tz).strftime(shape)))
        moment += interval
    return found


def _paths(line: Line, x: Callable, y: Callable, step: float) -> list[list[tuple[float, float]]]:
    """The line's runs of points, broken where a value is missing or a step was skipped."""
    runs, run, last = [], [], None
    for moment, value in zip(line.times, line.values, strict=True):
        if value is None or (last is not None and moment - last > 1.5 * step):
            if run:
                runs.append(run)
            run = []
        if value is not None:
            run.append((x(moment), y(value)))
        last = moment
    return [*runs, run] if run else runs


def line_chart(
    lines: list[Line],
    *,
    width: float,
    height: float,
    start: float,
    end: float,
    step: float,
    zone: str,
    label: Callable[[float], str],
    fill: float = 0.1,
    stroke: float = 1.0,
    per_value: float | None = None,
) -> str:
    """Lines over time: a value axis on the left in the panel's unit (a duration's in whole
    time units, `per_value` seconds a value), time along the bottom."""
    values = [v for line in lines for v in line.values if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    count = max(2, int(height // 40))
    if per_value and high > low:
        ticks = duration_ticks(low, high, count, per_value)
    else:
        ticks = nice_ticks(low, high, count)
    low, high = ticks[0], ticks[-1]
    left = min(max(text_width(label(t)) for t in ticks) + 10, width / 3)
    top, right, bottom = 6.0, 8.0, 18.0
    inner_w, inner_h = max(1.0, width - left - right), max(1.0, height - top - bottom)

    def x(moment: float) -> float:
        return left + (moment - start) / max(1e-9, end - start) * inner_w

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeseries" width="{width:.0f}" '
        f'height="{height:.0f}" font-size="{FONT}">'
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left:.1f}" x2="{width - right:.1f}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 5:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'fill="{AXIS}">{escape(label(tick))}</text>'
        )
    for moment, text in time_ticks(start, end, inner_w, zone):
        parts.append(
            f'<line x1="{x(moment):.1f}" x2="{x(moment):.1f}" y1="{top}" '
            f'y2="{top + inner_h:.1f}" stroke="{GRID}"/>'
        )
        half = text_width(text) / 2
        if x(moment) - half >= 0 and x(moment) + half <= width:  # a label cut at an edge: none
            parts.append(
                f'<text x="{x(moment):.1f}" y="{height - 4:.1f}" text-anchor="middle" '
                f'fill="{AXIS}">{text}</text>'
            )
    base = y(max(low, min(0.0, high)))
    for line in lines:
        for run in _paths(line, x, y, step):
            points = " L".join(f"{px:.1f},{py:.1f}" for px, py in run)
            if fill > 0 and len(run) > 1:
                parts.append(
                    f'<path d="M{run[0][0]:.1f},{base:.1f} L{points} L{run[-1][0]:.1f},'
                    f'{base:.1f} Z" fill="{line.colour}" fill-opacity="{fill:.2f}" stroke="none"/>'
                )
            parts.append(
                f'<path class="series" d="M{points}" fill="none" stroke="{line.colour}" '
                f'stroke-width="{stroke}"><title>{escape(line.label)}</title></path>'
            )
            if len(run) == 1:
                parts.append(
                    f'<circle cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2" '
                    f'fill="{line.colour}"/>'
                )
    parts.append(
        f'<rect x="{left:.1f}" y="{top}" width="{inner_w:.1f}" height="{inner_h:.1f}" '
        f'fill="none" stroke="{AXIS}" stroke-width="0.5"/></svg>'
    )
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    colour: str


def bars(items: list[Bar], *, width: float, height: float) -> str:
    """Horizontal bars, one a row, each as long as its value against the largest, the name on
    the left and the value at the bar's end; rows that do not fit are counted."""
    row = min(30.0, max(16.0, height / max(1, len(items))))
    fits = max(1, int(height // row))
    shown, hidden = items[:fits], len(items) - fits
    if hidden > 0:
        shown, hidden = items[: fits - 1], hidden + 1
    name_w = min(max((text_width(b.label) for b in shown), default=0) + 8, width * 0.45)
    value_w = max((text_width(b.text, 12) for b in shown), default=0) + 8
    room = max(10.0, width - name_w - value_w)
    top = max((b.value for b in shown), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bargauge" width="{width:.0f}" '
        f'height="{height:.0f}" font-size="{FONT}">'
    ]
    for i, bar in enumerate(shown):
        y0 = i * row + 2
        length = max(2.0, room * max(0.0, bar.value) / top)
        parts.append(
            f'<text x="{name_w - 6:.1f}" y="{y0 + row / 2 + 2:.1f}" text-anchor="end">'
            f"{escape(clip(bar.label, name_w - 8))}<title>{escape(bar.label)}</title></text>"
            f'<rect x="{name_w:.1f}" y="{y0:.1f}" width="{room:.1f}" height="{row - 6:.1f}" '
            f'fill="#f0f0f0"/><rect class="bar" x="{name_w:.1f}" y="{y0:.1f}" '
            f'width="{length:.1f}" height="{row - 6:.1f}" fill="{bar.colour}"/>'
            f'<text x="{name_w + room + 4:.1f}" y="{y0 + row / 2 + 2:.1f}" font-size="12" '
            f'font-weight="bold" fill="{bar.colour}">{escape(bar.text)}</text>'
        )
    if hidden > 0:
        parts.append(f'<text x="4" y="{height - 4:.1f}" fill="{AXIS}">+{hidden} more</text>')
    parts.append("</svg>")
    return "".join(parts)


def clip(text: str, room: float, size: float = FONT) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def donut(items: list[Bar], *, size: float) -> str:
    """A ring, each item's share of the total as an arc of its colour."""
    total = sum(max(0.0, b.value) for b in items)
    r_out, r_in, c = size / 2 - 4, size / 4, size / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="piechart" width="{size:.0f}" '
        f'height="{size:.0f}">'
    ]
    if total <= 0:
        parts.append(
            f'<circle cx="{c}" cy="{c}" r="{(r_out + r_in) / 2:.1f}" fill="none" '
            f'stroke="#eee" stroke-width="{r_out - r_in:.1f}"/></svg>'
        )
        return "".join(parts)
    angle = -math.pi / 2
    for bar in items:
        share = max(0.0, bar.value) / total
        if share <= 0:
            continue
        if share >= 0.9999:
            parts.append(
                f'<circle cx="{c}" cy="{c}" r="{(r_out + r_in) / 2:.1f}" fill="none" '
                f'stroke="{bar.colour}" stroke-width="{r_out - r_in:.1f}"/>'
            )
            break
        end = angle + share * 2 * math.pi
        big = 1 if share > 0.5 else 0

        def at(radius: float, a: float) -> str:
            return f"{c + radius * math.cos(a):.2f},{c + radius * math.sin(a):.2f}"

        parts.append(
            f'<path d="M{at(r_out, angle)} A{r_out:.1f},{r_out:.1f} 0 {big} 1 {at(r_out, end)} '
            f'L{at(r_in, end)} A{r_in:.1f},{r_in:.1f} 0 {big} 0 {at(r_in, angle)} Z" '
            f'fill="{bar.colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title></path>'
        )
        angle = end
    parts.append("</svg>")
    return "".join(parts)
