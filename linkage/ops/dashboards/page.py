"""A dashboard as one self-contained HTML page: the title and the time it shows, then each
panel at its gridPos on Grafana's grid (24 columns; a grid row 30 px with 8 px between), every
panel's targets queried from Prometheus for that time. Its own styles, inline SVG, no script,
nothing fetched: it opens offline and screenshots as it shows."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from linkage.ops.dashboards import grafana, panels
from linkage.ops.dashboards.source import Answer, Prometheus, QueryFailed, step_for

WIDTH = 1568  # the grid's width; the page is 1600 wide with its margins
MARGIN = 16
HEADER = 64
ROW, GAP = 30, 8
COLUMN = (WIDTH + GAP) / 24

STYLE = """
*{box-sizing:border-box}
body{margin:0;padding:%(m)dpx;background:#f4f5f8;color:#24292e;width:%(w)dpx;
font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif}
header{height:%(h)dpx}h1{font-size:22px;margin:0 0 4px}
.meta{font-size:12px;color:#6a6f77}.grid{position:relative;width:%(g)dpx}
.panel{position:absolute;background:#fff;border:1px solid #dcdee3;border-radius:3px;
overflow:hidden;padding:0 8px 8px}
.panel h2{font-size:13px;font-weight:600;margin:0;height:26px;line-height:26px;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.row{position:absolute;font-size:15px;font-weight:600;border-bottom:1px solid #c7cad1;
padding-top:4px}.row .folded{color:#6a6f77;font-weight:normal;font-size:12px}
.legend{font-size:11px;line-height:17px;overflow:hidden}
.legend .item{margin-right:14px;white-space:nowrap}
.legend i,.legend-table i{display:inline-block;width:12px;height:3px;margin:0 5px 3px 0;
vertical-align:middle}.more{color:#6a6f77}
.stats{display:flex;flex-wrap:wrap;gap:4px}
.box{border-radius:3px;display:flex;flex-direction:column;justify-content:center;
align-items:center;overflow:hidden}.box .value{font-weight:600;line-height:1.1}
.box .name{opacity:.9;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;
max-width:96%%}
.nodata{color:#8e8e8e;text-align:center;margin-top:20px;font-size:14px}
.error{color:#c4162a;font-size:11px;background:#fdecee;padding:3px 5px;margin-bottom:3px;
word-break:break-all}
.table{overflow:hidden}table{border-collapse:collapse;font-size:12px;width:100%%}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 6px;text-align:left}th{color:#6a6f77}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pie{display:flex;gap:12px;align-items:flex-start}.legend-table{width:auto;flex:1}
""" % {"m": MARGIN, "w": WIDTH + 2 * MARGIN, "h": HEADER, "g": WIDTH}  # noqa: UP031


@dataclass(frozen=True)
class Page:
    path: Path
    width: int
    height: int  # the whole page, for a screenshot that shows all of it


def box(grid: dict) -> tuple[float, float, float, float]:
    """(left, top, width, height) in pixels of a gridPos."""
    return (
        grid["x"] * COLUMN,
        grid["y"] * (ROW + GAP),
        grid["w"] * COLUMN - GAP,
        grid["h"] * ROW + (grid["h"] - 1) * GAP,
    )


def fetch(
    prometheus: Prometheus, panel: dict, window: panels.Window, variables: dict[str, str]
) -> list[tuple[dict, Answer | str]]:
    """Each visible target's answer (an error's text where Prometheus refused it)."""
    found = []
    for target in panel.get("targets", []):
        if target.get("hide") or not target.get("expr", "").strip():
            continue
        expr = grafana.substitute(
            target["expr"],
            step=window.step,
            range_seconds=window.seconds,
            scrape=window.scrape,
            variables=variables,
        )
        instant = target.get("instant") or target.get("format") == "table"
        try:
            if instant or panel.get("type") == "table":
                answer = prometheus.query(expr, window.end)
            else:
                answer = prometheus.query_range(expr, window.start, window.end, window.step)
        except QueryFailed as err:
            answer = str(err)
        found.append((target, answer))
    return found


def panel_html(panel: dict, drawn: panels.Drawn | None, window: panels.Window) -> str:
    left, top, width, height = box(panel["gridPos"])
    place = f"left:{left:.0f}px;top:{top:.0f}px;width:{width:.0f}px;height:{height:.0f}px"
    title = escape(panel.get("title", ""))
    if panel.get("type") == "row":
        inside = len(panel.get("panels", []))
        folded = f' <span class="folded">(collapsed: {inside} panels)</span>' if inside else ""
        return f'<div class="row" style="{place}">{title}{folded}</div>'
    inner_w, inner_h = width - 18, height - panels.TITLE_HEIGHT - 10
    body = panels.content(panel, drawn or panels.Drawn([], []), window, inner_w, inner_h)
    about = escape(panel.get("description", ""), quote=True)
    return (
        f'<section class="panel" data-id="{panel.get("id", "")}" style="{place}" '
        f'title="{about}"><h2>{title}</h2>{body}</section>'
    )


def render(
    board: grafana.Board,
    prometheus: Prometheus,
    *,
    range_seconds: float,
    end: float | None = None,
) -> tuple[str, int]:
    """The page's HTML and its height in pixels."""
    end = time.time() if end is None else end
    scrape = prometheus.scrape_interval()
    window = panels.Window(
        start=end - range_seconds,
        end=end,
        step=step_for(range_seconds, scrape),
        scrape=scrape,
        zone=board.timezone,
    )
    drawable = [p for p in board.panels if p.get("type") != "row"]
    with ThreadPoolExecutor(max_workers=4) as pool:  # a few queries at a time, in order
        answers = list(pool.map(lambda p: fetch(prometheus, p, window, board.variables), drawable))
    drawn = {id(p): panels.gather(p, a) for p, a in zip(drawable, answers, strict=True)}
    body = "".join(panel_html(p, drawn.get(id(p)), window) for p in board.panels)
    grid_h = board.rows * (ROW + GAP)
    tz = ZoneInfo(window.zone)

    def at(moment: float) -> str:
        return datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%d %H:%M:%S")

    meta = (
        f"{at(window.start)} → {at(window.end)} ({escape(window.zone)}) · "
        f"step {window.step:.0f} s · scrape {window.scrape:.0f} s · "
        f"数据源 Data source: Prometheus {escape(prometheus.url)}"
    )
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(board.title)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{escape(board.title)}</h1><div class="meta">{meta}</div></header>'
        f'<div class="grid" style="height:{grid_h}px">{body}</div></body></html>'
    )
    return html, int(grid_h + HEADER + 2 * MARGIN)


def write(
    board_file: Path,
    prometheus: Prometheus,
    out: Path,
    *,
    range_seconds: float,
    end: float | None = None,
) -> Page:
    """Render `board_file` into `out`/<its name>.html."""
    board = grafana.Board.load(board_file)
    html, height = render(board, prometheus, range_seconds=range_seconds, end=end)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{board_file.stem}.html"
    path.write_text(html, encoding="utf-8")
    return Page(path=path, width=WIDTH + 2 * MARGIN, height=height)
