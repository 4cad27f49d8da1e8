"""A report as one self-contained HTML page: its own styles, charts drawn as inline SVG, no
script and nothing fetched, so it opens offline in any browser and prints as it shows."""

from __future__ import annotations

from html import escape

from linkage.assessment.reports.model import Chart, Report, Table, cell, fmt

STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em;
color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:2px solid #b22;padding:.2em 0}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right}.note{color:#666;font-size:.85em}
.red{background:#fde8e8}.black{background:#e8e8e8}svg{display:block;margin:.5em 0}
dl{font-size:.8em;color:#444}dt{font-weight:bold;float:left;width:12em}dd{margin-left:13em}
"""
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 18, 6, 180, 420
MAX_BARS = 15


def bar_chart(table: Table, chart: Chart) -> str:
    """Horizontal bars, one per row (the largest MAX_BARS), each labelled with its value."""
    points = [
        (str(fmt(r.get(chart.label))), float(r.get(chart.value) or 0))
        for r in table.rows
        if isinstance(r.get(chart.value), int | float)
    ]
    points = sorted(points, key=lambda p: -p[1])[:MAX_BARS]
    if not points:
        return ""
    top = max(v for _, v in points) or 1
    height = len(points) * (BAR_HEIGHT + BAR_GAP) + 30
    width = LABEL_WIDTH + CHART_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-table="{table.key}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(chart.title)}">',
        f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for i, (label, value) in enumerate(points):
        y = 24 + i * (BAR_HEIGHT + BAR_GAP)
        length = max(1.0, CHART_WIDTH * value / top)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" font-size="12" text-anchor="end">'
            f"{escape(label[:18])}</text>"
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
            f'height="{BAR_HEIGHT}" fill="#b22"><title>{escape(label)}: {value:g}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}" font-size="12">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _row_class(row: dict) -> str:
    return {"红榜": ' class="red"', "黑榜": ' class="black"'}.get(row.get("list", ""), "")


def render_table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for _, h in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for key, _ in table.columns:
            value = row.get(key)
            num = (
                ' class="num"'
                if isinstance(value, int | float) and not isinstance(value, bool)
                else ""
            )
            cells.append(f"<td{num}>{escape(cell(key, row))}</td>")
        body.append(f"<tr{_row_class(row)}>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(table.columns)}">（本期无）</td></tr>')
    chart = bar_chart(table, table.chart) if table.chart else ""
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<section id="{table.key}"><h2>{escape(table.title)}</h2>{note}{chart}'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def render_html(report: Report) -> str:
    definitions = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>"
        for label, text in report.definitions.values()
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(report.title)}</h1>"
        f'<p class="note">考核期 {escape(report.period)} · 考核口径版本 '
        f"{escape(report.assessment_version)} · 生成于 {escape(fmt(report.produced_at))} (北京时间)"
        "</p>"
        + "".join(render_table(t) for t in report.tables)
        + f"<h2>指标口径</h2><dl>{definitions}</dl></body></html>"
    )
