"""A report as an Excel workbook (openpyxl): one sheet per table, figures as numbers (rates as
percentages), times in the district's time zone; and a sheet of the definitions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from linkage.periods import DISTRICT_TZ
from linkage.reports.model import Report

HEADER = Font(bold=True)
FILL = {
    "红榜": PatternFill("solid", fgColor="FDE8E8"),
    "黑榜": PatternFill("solid", fgColor="DDDDDD"),
}


def _value(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(DISTRICT_TZ).replace(tzinfo=None)  # Excel keeps no offset
    if isinstance(value, dict | list):
        return str(value)
    return value


def write_excel(report: Report, path: Path) -> None:
    """Written in write-only mode, so a long evidence list costs no more memory than a short."""
    book = Workbook(write_only=True)
    for table in report.tables:
        sheet = book.create_sheet(table.key[:31])
        sheet.append([table.title])
        if table.note:
            sheet.append([table.note])
        sheet.append([heading for _, heading in table.columns])
        for row in table.rows:
            sheet.append([_value(row.get(key)) for key, _ in table.columns])
    sheet = book.create_sheet("definitions")
    sheet.append(["指标", "口径", "key"])
    for key, (label, definition) in report.definitions.items():
        sheet.append([label, definition, key])
    book.save(path)
