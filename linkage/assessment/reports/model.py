"""What a report is made of, whatever it is rendered as: tables with named columns, a chart for
some of them, the definitions of the figures, the key figures and the units it names (通报)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Chart:
    label: str  # the column whose values label the bars
    value: str  # the column the bars measure
    title: str = ""


@dataclass
class Table:
    key: str  # the sheet's name in Excel, the id in HTML
    title: str
    columns: list[tuple[str, str]]  # (row key, heading)
    rows: list[dict[str, Any]]
    note: str = ""
    chart: Chart | None = None


@dataclass
class Report:
    kind: str
    period: str
    title: str
    unit: str
    assessment_version: str
    produced_at: datetime
    tables: list[Table] = field(default_factory=list)
    definitions: dict[str, tuple[str, str]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    named_units: list[str] = field(default_factory=list)  # the 通报 goes to these

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.period}:{self.unit}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = self.id
        data["definitions"] = {
            k: {"label": a, "definition": b} for k, (a, b) in self.definitions.items()
        }
        for table in data["tables"]:
            table["columns"] = [{"key": k, "heading": h} for k, h in table["columns"]]
        return data


def fmt(value: Any) -> str:
    """A cell as a person reads it: rates as percentages, times in the district's time zone."""
    from linkage.domain.periods import DISTRICT_TZ

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite keeps no offset
        return value.astimezone(DISTRICT_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# columns whose figure is the row's indicator (`key`), e.g. the overview's 数值
FIGURE_COLUMNS = frozenset({"value", "this_year", "last_year", "change"})


def is_rate(column: str, row: dict[str, Any]) -> bool:
    """Whether a cell holds a rate (a fraction shown as a percentage)."""
    if column.endswith("_rate"):
        return True
    return column in FIGURE_COLUMNS and str(row.get("key", "")).endswith("_rate")


def cell(column: str, row: dict[str, Any]) -> str:
    """A table's cell as a person reads it."""
    value = row.get(column)
    return percent(value) if value is not None and is_rate(column, row) else fmt(value)
