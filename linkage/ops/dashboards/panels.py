"""One panel's content, from its targets' answers: a time series as lines with a legend, a
stat or gauge as big numbers, a bar gauge as bars, a pie chart as a donut with its table, a
table as a table. A panel that has no data says so, and a query Prometheus refused shows its
error, as Grafana does."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from linkage.ops.dashboards import charts, grafana, units
from linkage.ops.dashboards.source import MAX_SERIES, Answer, Series

LEGEND_LINE = 17
TITLE_HEIGHT = 26
DURATIONS = {"s": 1.0, "ms": 0.001, "dtdurations": 1.0, "dtdurationms": 0.001}  # seconds a value


@dataclass(frozen=True)
class Window:
    """The time the page shows, and what a query's step and rates need."""

    start: float
    end: float
    step: float
    scrape: float
    zone: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Drawn:
    """What a panel's targets gave: (legend, series) in target order, and what went wrong."""

    series: list[tuple[str, Series]]
    errors: list[str]
    dropped: int = 0


def gather(panel: dict, answers: list[tuple[dict, Answer | str]]) -> Drawn:
    """The series of every target, each named by its target's legendFormat, at most
    MAX_SERIES in all; an answer that is a string is Prometheus' error."""
    drawn = Drawn([], [])
    for target, answer in answers:
        if isinstance(answer, str):
            drawn.errors.append(f"{target.get('refId', '?')}: {answer}")
            continue
        drawn.dropped += answer.dropped
        for series in answer.series:
            drawn.series.append((grafana.legend(target.get("legendFormat"), series.labels), series))
    drawn.dropped += max(0, len(drawn.series) - MAX_SERIES)
    drawn.series = drawn.series[:MAX_SERIES]
    return drawn


def _defaults(panel: dict) -> dict:
    return panel.get("fieldConfig", {}).get("defaults", {})


def _formatter(panel: dict, window: Window):
    defaults = _defaults(panel)
    unit, decimals = defaults.get("unit"), defaults.get("decimals")
    return lambda v: units.fmt(v, unit, decimals=decimals, zone=window.zone)


def _reduced(panel: dict, drawn: Drawn) -> list[tuple[str, float | None]]:
    calcs = panel.get("options", {}).get("reduceOptions", {}).get("calcs")
    return [(name, grafana.reduce(s.values, calcs)) for name, s in drawn.series]


def _colour(panel: dict, value: float | None, index: int) -> str:
    defaults = _defaults(panel)
    mode = defaults.get("color", {})
    if mode.get("mode") == "fixed":
        return grafana.colour(mode.get("fixedColor"))
    found = grafana.threshold_colour(defaults, value)
    return found or grafana.PALETTE[index % len(grafana.PALETTE)]


def legend_lines(names: list[str], width: float) -> list[list[int]]:
    """The legend's items packed into lines of `width`, as indices into `names`."""
    lines: list[list[int]] = [[]]
    used = 0.0
    for i, name in enumerate(names):
        need = charts.text_width(name) + 26
        if lines[-1] and used + need > width:
            lines.append([])
            used = 0.0
        lines[-1].append(i)
        used += need
    return lines if lines[0] else []


def timeseries(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    custom = _defaults(panel).get("custom", {})
    colours = [grafana.PALETTE[i % len(grafana.PALETTE)] for i in range(len(drawn.series))]
    names = [name for name, _ in drawn.series]
    packed = legend_lines(names, width)
    room = max(1, int(height * 0.4 // LEGEND_LINE))
    if len(packed) > room:  # the lines that fit; what is left is counted
        packed = packed[:room]
    shown = [i for line in packed for i in line]
    chart_h = height - len(packed) * LEGEND_LINE - 4
    lines = [
        charts.Line(name, colours[i], series.times, series.values)
        for i, (name, series) in enumerate(drawn.series)
    ]
    svg = charts.line_chart(
        lines,
        width=width,
        height=chart_h,
        start=window.start,
        end=window.end,
        step=window.step,
        zone=window.zone,
        label=_formatter(panel, window),
        fill=float(custom.get("fillOpacity", 10)) / 100,
        stroke=float(custom.get("lineWidth", 1)),
        per_value=DURATIONS.get(_defaults(panel).get("unit", "")),
    )
    items = "".join(
        f'<span class="item"><i style="background:{colours[i]}"></i>{escape(names[i])}</span>'
        for i in shown
    )
    more = len(names) - len(shown) + drawn.dropped
    if more:
        items += f'<span class="more">+{more} more</span>'
    return f'{svg}<div class="legend">{items}</div>'


def stat(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    """A big number for each series, its name under it (textMode value_and_name), on its
    threshold's colour (colorMode background) or in it (colorMode value)."""
    values = _reduced(panel, drawn)
    show = _formatter(panel, window)
    options = panel.get("options", {})
    background = options.get("colorMode", "value") in ("background", "background_solid")
    named = options.get("textMode", "auto") in ("value_and_name", "name") or len(values) > 1
    across = width >= height
    count = max(1, len(values))
    box_w = width / count if across else width
    box_h = height if across else height / count
    boxes = []
    for i, (name, value) in enumerate(values):
        colour, text = _colour(panel, value, i), show(value)
        size = min(box_h * (0.42 if named else 0.6), box_w / max(2.0, len(text) * 0.62), 64)
        style = f"background:{colour};color:#fff" if background else f"color:{colour}"
        fits = (box_w - 8) / max(1.0, charts.text_width(name, 1))  # the name on one line
        label = (
            f'<div class="name" style="font-size:{max(9.0, min(14.0, size * 0.4, fits)):.0f}px">'
            f"{escape(name)}</div>"
            if named
            else ""
        )
        boxes.append(
            f'<div class="box" style="width:{box_w - 4:.0f}px;height:{box_h - 4:.0f}px;{style}">'
            f'<div class="value" style="font-size:{size:.0f}px">{escape(text)}</div>{label}</div>'
        )
    return f'<div class="stats">{"".join(boxes)}</div>'


def bargauge(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    show = _formatter(panel, window)
    items = [
        charts.Bar(name, value or 0.0, show(value), _colour(panel, value, i))
        for i, (name, value) in enumerate(_reduced(panel, drawn))
    ]
    return charts.bars(items, width=width, height=height)


def piechart(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    show = _formatter(panel, window)
    values = _reduced(panel, drawn)
    total = sum(max(0.0, v or 0.0) for _, v in values) or 1.0
    items = [
        charts.Bar(name, value or 0.0, show(value), grafana.PALETTE[i % len(grafana.PALETTE)])
        for i, (name, value) in enumerate(values)
    ]
    size = min(height, width * 0.5)
    rows = "".join(
        f'<tr><td><i style="background:{b.colour}"></i>{escape(b.label)}</td>'
        f'<td class="num">{escape(b.text)}</td>'
        f'<td class="num">{100 * max(0.0, b.value) / total:.0f}%</td></tr>'
        for b in items
    )
    return (
        f'<div class="pie">{charts.donut(items, size=size)}'
        f'<table class="legend-table"><tr><th>name</th><th>value</th><th>%</th></tr>'
        f"{rows}</table></div>"
    )


def table(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    """An instant query's series as rows: their labels as columns, then the value; the
    `organize` transformation's excluded and renamed columns applied; sorted as the panel
    says (by the value, descending, by default)."""
    show = _formatter(panel, window)
    organize = next(
        (t.get("options", {}) for t in panel.get("transformations", []) if t["id"] == "organize"),
        {},
    )
    excluded = {k for k, v in organize.get("excludeByName", {}).items() if v}
    renamed = organize.get("renameByName", {})
    labels = sorted({k for _, s in drawn.series for k in s.labels if k != "__name__"})
    columns = [c for c in labels if c not in excluded]
    rows = [(s.labels, s.values[-1] if s.values else None) for _, s in drawn.series]
    sort = (panel.get("options", {}).get("sortBy") or [{"displayName": "Value", "desc": True}])[0]
    by = sort.get("displayName", "Value")

    def order(row: tuple[dict, float | None]):
        if by == "Value":
            return row[1] if row[1] is not None else float("-inf")
        return row[0].get(by, "")

    rows.sort(key=order, reverse=bool(sort.get("desc")))
    head = "".join(f"<th>{escape(renamed.get(c, c))}</th>" for c in [*columns, "Value"])
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(found.get(c, ''))}</td>" for c in columns)
        + f'<td class="num">{escape(show(value))}</td></tr>'
        for found, value in rows
    )
    return (
        f'<div class="table" style="max-height:{height:.0f}px">'
        f"<table><tr>{head}</tr>{body}</table></div>"
    )


KINDS = {
    "timeseries": timeseries,
    "graph": timeseries,
    "stat": stat,
    "gauge": stat,
    "singlestat": stat,
    "bargauge": bargauge,
    "piechart": piechart,
    "table": table,
}


def content(panel: dict, drawn: Drawn, window: Window, width: float, height: float) -> str:
    """The panel's drawing; "No data" when its targets gave nothing, errors above it."""
    errors = "".join(f'<div class="error">{escape(e)}</div>' for e in drawn.errors)
    if not drawn.series:
        return errors + ('<div class="nodata">No data</div>' if not errors else "")
    draw = KINDS.get(panel.get("type", ""), table)
    return errors + draw(panel, drawn, window, width, height)
