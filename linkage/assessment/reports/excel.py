"""A report as an Excel workbook (openpyxl): one sheet per table, named in Chinese, its title and
note above a frozen header row; figures as numbers (rates formatted as percentages, times in the
district's time zone as dates), columns as wide as what they hold; and a sheet of definitions."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from linkage.assessment.reports.model import Report, Table, is_rate
from linkage.domain.periods import DISTRICT_TZ

TITLE = Font(bold=True, size=13)
HEADER = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F3F3F3")
FILL = {
    "红榜": PatternFill("solid", fgColor="FDE8E8"),
    "黑榜": PatternFill("solid", fgColor="DDDDDD"),
}
MIN_WIDTH, MAX_WIDTH = 6, 60
_NUMBERING = re.compile(r"^[一二三四五六七八九十]+(\(二\))?、")
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def sheet_name(table: Table, taken: set[str]) -> str:
    """`五、12345 承办单位考核排名 (红黑榜)` → `12345 承办单位考核排名`: the title without its
    numbering and remarks, as Excel allows (31 characters, no []:*?/\\), unique in the book."""
    name = _NUMBERING.sub("", table.title)
    name = re.split(r"\s*[(（]", name)[0].strip() or table.key
    name = _NOT_IN_SHEET_NAMES.sub("", name)[:31]
    base, n = name, 2
    while name in taken:
        name = f"{base[: 31 - len(str(n)) - 1]}-{n}"
        n += 1
    taken.add(name)
    return name


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(DISTRICT_TZ).replace(tzinfo=None)  # Excel keeps no offset
    if isinstance(value, dict | list):
        return str(value)
    return value


def _format(column: str, row: dict, value: Any) -> str | None:
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if is_rate(column, row):
            return "0.0%"
        return "0" if isinstance(value, int) else "0.0#"
    return None


def width(value: Any) -> int:
    """Characters a cell needs; a Chinese character takes two."""
    if value is None:
        return 0
    text = value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    line = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _sheet(book: Workbook, table: Table, name: str) -> None:
    sheet = book.create_sheet(name)
    columns = table.columns
    header_row = 3 if table.note else 2
    sheet.freeze_panes = f"A{header_row + 1}"  # the header stays when the rows scroll
    for n, (key, heading) in enumerate(columns, 1):
        widest = max([width(heading)] + [width(_value(r.get(key))) for r in table.rows])
        sheet.column_dimensions[get_column_letter(n)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, widest + 2)
        )
    title = WriteOnlyCell(sheet, value=table.title)
    title.font = TITLE
    sheet.append([title])
    if table.note:
        sheet.append([table.note])
    headers = []
    for _, heading in columns:
        head = WriteOnlyCell(sheet, value=heading)
        head.font, head.fill = HEADER, HEADER_FILL
        head.alignment = Alignment(vertical="center")
        headers.append(head)
    sheet.append(headers)
    for row in table.rows:
        fill = FILL.get(row.get("list", ""))
        cells = []
        for key, _ in columns:
            raw = row.get(key)
            out = WriteOnlyCell(sheet, value=_value(raw))
            number_format = _format(key, row, raw)
            if number_format:
                out.number_format = number_format
            if fill is not None:
                out.fill = fill
            cells.append(out)
        sheet.append(cells)


def write_tables(tables: list[Table], path: Path) -> None:
    """Written in write-only mode, so a long evidence list costs no more memory than a short."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for table in tables:
        _sheet(book, table, sheet_name(table, taken))
    book.save(path)


def write_excel(report: Report, path: Path) -> None:
    definitions = Table(
        "definitions",
        "指标口径",
        [("label", "指标"), ("definition", "口径"), ("key", "字段")],
        [
            {"label": label, "definition": definition, "key": key}
            for key, (label, definition) in report.definitions.items()
        ],
    )
    write_tables([*report.tables, definitions], path)
