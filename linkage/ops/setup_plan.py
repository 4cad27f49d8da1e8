"""What `linkage setup` finds and would do, decided before anything changes: the items in their
order, what stands in the way, and how it is shown.

The slots are SQL visibility's (PostgreSQL, MySQL, SQLite: so many custom search attributes of
each type per namespace). A cluster on Elasticsearch has no such limits; it is held to them all
the same, so that the namespace fits either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta

from temporalio.common import SearchAttributeIndexedValueType as IndexedType

from linkage.client.errors import LinkageError
from linkage.domain.search_attributes import SEARCH_ATTRIBUTES

DEFAULT_RETENTION_DAYS = 90  # incidents stay open for weeks; retention counts from the close
MAX_RETENTION_DAYS = 3650
TYPE_NAMES = {
    IndexedType.KEYWORD: "Keyword",
    IndexedType.BOOL: "Bool",
    IndexedType.INT: "Int",
    IndexedType.DOUBLE: "Double",
    IndexedType.DATETIME: "Datetime",
    IndexedType.KEYWORD_LIST: "KeywordList",
    IndexedType.TEXT: "Text",
}
# custom search attributes per namespace and type on SQL visibility
SQL_SLOTS = {
    IndexedType.KEYWORD: 10,
    IndexedType.BOOL: 3,
    IndexedType.INT: 3,
    IndexedType.DOUBLE: 3,
    IndexedType.DATETIME: 3,
    IndexedType.KEYWORD_LIST: 3,
    IndexedType.TEXT: 3,
}
NEEDED = {key.name: IndexedType(key.indexed_value_type) for key in SEARCH_ATTRIBUTES}


class SetupRefused(LinkageError):
    """Something stands in the way that setup will not decide alone; nothing was changed."""


def check_retention(days: int) -> int:
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise SetupRefused(
            f"--retention-days {days}: the namespace's retention must be 1 to "
            f"{MAX_RETENTION_DAYS} days (default {DEFAULT_RETENTION_DAYS})"
        )
    return days


def type_name(value: int) -> str:
    try:
        return TYPE_NAMES[IndexedType(value)]
    except ValueError:
        return f"type {value}"


def _days(ttl: timedelta) -> str:
    days = ttl / timedelta(days=1)
    shown = f"{days:g}" if days != int(days) else str(int(days))
    return f"{shown} day{'' if days == 1 else 's'}"


@dataclass
class Line:
    """One item: its state before, and the change made (or, under --check, to be made)."""

    item: str
    before: str
    change: str = ""  # "" when it was ready

    @property
    def differs(self) -> bool:
        return bool(self.change)


@dataclass
class Survey:
    """What is there, read before anything changes."""

    namespace: str
    retention: timedelta | None = None  # None: no such namespace
    attributes: dict[str, int] = field(default_factory=dict)  # its custom ones: name -> type
    schedules: dict[str, bool] = field(default_factory=dict)  # ID -> present
    revision: tuple[str, ...] | None = None  # None: no database yet
    head: str = ""
    known_revision: bool = True  # False: a newer linkage migrated the database


def refusals(found: Survey) -> list[str]:
    """What setup refuses to change: each problem, named."""
    problems = []
    for name, needed in NEEDED.items():
        present = found.attributes.get(name)
        if present is not None and present != needed:
            problems.append(
                f"search attribute {name} is registered in namespace {found.namespace} as "
                f"{type_name(present)}; linkage needs {type_name(needed)}: remove it, or use "
                f"another namespace (LINKAGE_NAMESPACE)"
            )
    missing = [name for name in NEEDED if name not in found.attributes]
    for kind, slots in SQL_SLOTS.items():
        adding = [name for name in missing if NEEDED[name] == kind]
        used = sorted(name for name, t in found.attributes.items() if t == kind)
        if adding and len(used) + len(adding) > slots:
            problems.append(
                f"no room for {', '.join(adding)} ({TYPE_NAMES[kind]}): a namespace has "
                f"{slots} {TYPE_NAMES[kind]} search attributes (SQL visibility), and "
                f"{found.namespace} uses {len(used)}: {', '.join(used)}"
            )
    if not found.known_revision:
        problems.append(
            f"the records database is at revision {', '.join(found.revision or ())}, which this "
            f"linkage does not know (its newest is {found.head}): a newer linkage migrated it"
        )
    return problems


def plan(found: Survey, retention_days: int | None) -> list[Line]:
    """One line per item, in the order they are made ready. `retention_days` None leaves an
    existing namespace's retention as it is (and registers a missing one with the default)."""
    days = DEFAULT_RETENTION_DAYS if retention_days is None else retention_days
    wanted = timedelta(days=days)
    item = f"namespace {found.namespace}"
    if found.retention is None:
        lines = [Line(item, "missing", f"registered, retention {_days(wanted)}")]
    elif retention_days is not None and found.retention != wanted:
        before = f"retention {_days(found.retention)}"
        lines = [Line(item, before, f"updated: retention {_days(wanted)}")]
    else:
        lines = [Line(item, f"retention {_days(found.retention)}")]
    for name, needed in NEEDED.items():
        present = name in found.attributes
        before = type_name(needed) if present else "missing"
        change = "" if present else f"added as {type_name(needed)}"
        lines.append(Line(f"search attribute {name}", before, change))
    for schedule_id, present in found.schedules.items():
        lines.append(
            Line(
                f"schedule {schedule_id}",
                "present" if present else "missing",
                "" if present else "created",
            )
        )
    lines.append(_records_line(found))
    return lines


def _records_line(found: Survey) -> Line:
    item = "records database"
    if found.revision is None:
        return Line(item, f"none yet (head {found.head})", f"created at {found.head}")
    if found.revision == (found.head,):
        return Line(item, f"at {found.head} (head)")
    at = f"at {', '.join(found.revision)}" if found.revision else "not migrated"
    return Line(item, f"{at}, head {found.head}", f"upgraded to {found.head}")


def as_dict(lines: list[Line], namespace: str, check: bool) -> dict:
    return {
        "namespace": namespace,
        "check": check,
        "ready": not (check and any(line.differs for line in lines)),
        "items": [{**asdict(line), "differs": line.differs} for line in lines],
    }


def render(lines: list[Line], check: bool) -> str:
    width = max(len(line.item) for line in lines) + 2
    before_width = max(len(line.before) for line in lines) + 2
    rows = []
    for line in lines:
        change = line.change or "ready"
        if check and line.differs:
            change = f"would be {line.change}"
        rows.append(f"{line.item:<{width}}{line.before:<{before_width}}{change}".rstrip())
    differing = sum(line.differs for line in lines)
    if check:
        rows.append(
            f"{differing} of {len(lines)} differ: run linkage setup to make them ready"
            if differing
            else "all ready"
        )
    else:
        rows.append(f"ready ({differing} changed)")
    return "\n".join(rows)
