"""The list and the work queues: which incidents, and what waits on whom.

Two sources, each for what it answers best:
- Temporal visibility (search attributes) finds incidents by stage, owner, township, category,
  safety, start time, overdue and whistle: the same filters a supervisor types in the Web UI.
- The records database holds what every workflow waits on now (`workitem`, written with each
  step), so "what is waiting on this unit" is one indexed query, and every listed incident shows
  its current step, the unit that owes it, the next deadline and how often it was supervised.
"""

from __future__ import annotations

from datetime import UTC, datetime

from linkage.client.base import ClientBase
from linkage.client.errors import LinkageError
from linkage.client.shapes import IncidentListing as IncidentListing
from linkage.client.shapes import parse_when as parse_when
from linkage.domain import edge_checks as edge
from linkage.domain.models import Stage
from linkage.domain.search_attributes import (
    CATEGORY,
    ORIGIN,
    OVERDUE,
    OWNER,
    REPORTS,
    SAFETY,
    STAGE,
    SUBCATEGORY,
    TOWNSHIP,
    WHISTLE,
)
from linkage.domain.units import UnknownUnit
from linkage.records.tables import Incident
from linkage.records.work import WorkRow
from workflows.contracts import INCIDENT_WORKFLOW

ENDED = {Stage.closed.value, Stage.withdrawn.value, Stage.merged.value}


def category_clause(value: str) -> str:
    """A catalogue code (H02, H02.07) or a category's name."""
    code, sub = edge.catalogue_item(value)
    if sub is not None:
        return f"{SUBCATEGORY.name} = '{_quote(sub)}'"
    name = edge.district().catalogue.categories[code].name
    return f"{CATEGORY.name} = '{_quote(name)}'"


def _checked(township: str | None, category: str | None) -> str | None:
    """The township as stored (黄埭 is 黄埭镇); a township or category the district's register
    lacks is refused, naming the filter and the value."""
    for field, value, check in (
        ("township", township, edge.township),
        ("category", category, edge.catalogue_item),
    ):
        if value:
            try:
                found = check(value)
            except ValueError as err:
                raise ValueError(f"list: {field}: {err}") from None
            if field == "township":
                township = found
    return township


async def list_incidents(
    linkage: ClientBase,
    *,
    stage: str | None = None,
    owner: str | None = None,
    township: str | None = None,
    overdue: bool = False,
    whistled: bool = False,
    running_only: bool = False,
    limit: int = 100,
    unit: str | None = None,
    category: str | None = None,
    safety: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[IncidentListing]:
    if limit < 1:
        raise ValueError("--limit: must be at least 1")
    township = _checked(township, category)
    if unit is not None:
        return await _unit_queue(
            linkage, unit, stage, owner, township, overdue, category, safety, since, until, limit
        )
    clauses = [f"WorkflowType = '{INCIDENT_WORKFLOW}'", f"{STAGE.name} != 'merged'"]
    for key, value in ((STAGE, stage), (OWNER, owner), (TOWNSHIP, township)):
        if value:
            clauses.append(f"{key.name} = '{_quote(value)}'")
    if category:
        clauses.append(category_clause(category))
    if safety is not None:
        clauses.append(f"{SAFETY.name} = {'true' if safety else 'false'}")
    if since is not None:
        clauses.append(f"StartTime >= '{_rfc3339(since)}'")
    if until is not None:
        clauses.append(f"StartTime < '{_rfc3339(until)}'")
    if running_only:
        clauses.append("ExecutionStatus = 'Running'")
    if whistled:
        clauses.append(f"{WHISTLE.name} = true")
    if overdue:
        clauses.append(f"{OVERDUE.name} = true")
    listings = []
    async for wf in linkage.client.list_workflows(" AND ".join(clauses), limit=limit):
        attrs = wf.typed_search_attributes
        listings.append(
            IncidentListing(
                incident_id=wf.id,
                status=wf.status.name.lower() if wf.status else "unknown",
                stage=attrs.get(STAGE) or "",
                owner=attrs.get(OWNER) or "",
                origin=attrs.get(ORIGIN) or "",
                township=attrs.get(TOWNSHIP) or "",
                category=attrs.get(CATEGORY) or "",
                overdue=bool(attrs.get(OVERDUE)),
                whistled=bool(attrs.get(WHISTLE)),
                reports=attrs.get(REPORTS) or 1,
                started=wf.start_time,
            )
        )
    running = [item for item in listings if item.status == "running"]
    if running:
        rows = linkage.store.waiting(incident_ids=[item.incident_id for item in running])
        first: dict[str, WorkRow] = {}
        units: dict[tuple[str, str], list[str]] = {}
        for row in rows:  # soonest (missed first) comes first
            first.setdefault(row.incident_id, row)
            units.setdefault((row.workflow_id, row.step), []).append(row.unit)
        for item in running:
            row = first.get(item.incident_id)
            if row is not None:
                _show(item, row, units[(row.workflow_id, row.step)], linkage)
    return listings


async def _unit_queue(
    linkage, unit, stage, owner, township, overdue, category, safety, since, until, limit
) -> list[IncidentListing]:
    """What waits on one unit now, one row per step it owes; soonest (missed first) first."""
    try:
        code = linkage.register.resolve(unit, None, "--unit").code
    except UnknownUnit as err:
        raise ValueError(str(err)) from None
    rows = linkage.store.waiting(units=linkage.register.with_parts(code))
    incidents = {i.id: i for i in linkage.store.incidents([r.incident_id for r in rows])}
    wanted_category = edge.catalogue_item(category) if category else None
    listings = []
    for row in rows:
        incident = incidents.get(row.incident_id)
        if incident is None or incident.stage in ENDED:
            continue
        if (
            (stage and incident.stage != stage)
            or (owner and incident.owner != owner)
            or (township and incident.township != township)
            or (overdue and not row.missed)
            or (safety is not None and incident.safety != safety)
            or (since is not None and _aware(incident.received_at) < since)
            or (until is not None and _aware(incident.received_at) >= until)
            or (wanted_category and not _in_category(incident, wanted_category))
        ):
            continue
        item = IncidentListing(
            incident_id=incident.id,
            status="running",
            stage=incident.stage,
            owner=incident.owner,
            origin=incident.origin,
            township=incident.township,
            category=incident.category,
            overdue=row.missed,
            reports=incident.pushes,
            started=_aware(incident.received_at),
        )
        _show(item, row, [row.unit], linkage)
        listings.append(item)
        if len(listings) >= limit:
            break
    return listings


def _show(item: IncidentListing, row: WorkRow, units: list[str], linkage) -> None:
    item.step = row.label or row.step
    item.loop = row.loop
    item.waiting_on = [linkage.register.name_of(u) for u in units]
    item.due = row.due
    item.supervisions = row.supervisions


def _in_category(incident: Incident, wanted: tuple[str, str | None]) -> bool:
    code, sub = wanted
    if sub is not None:
        return incident.subcategory == sub
    return incident.category_code == code or incident.category == code


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


__all__ = ["IncidentListing", "list_incidents", "parse_when"]


class Listing(ClientBase):
    async def list(self, **filters) -> list[IncidentListing]:
        """Incidents by stage, owner, township, category, safety, start time, overdue or
        whistle; or, with `unit`, what waits on that unit now."""
        try:
            return await list_incidents(self, **filters)
        except ValueError as err:
            raise LinkageError(str(err)) from None
