"""What the client answers with, as the API sends it: an incident's status and a listed row.

Light on purpose (pydantic and the workflows' contracts, no Temporal client and no SQL), so that
the CLI reading through the HTTP API (linkage.client.remote) loads only these to show an answer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel

from linkage.domain.models import Stage, TimelineEntry
from workflows.contracts import IncidentState, IncidentSummary
from workflows.loop_contracts import EmergencyState, HotlineLoopState, PoliceLoopState, WhistleState


class IncidentStatus(BaseModel):
    incident_id: str
    running: bool
    stage: Stage
    incident: IncidentState | None = None
    police: PoliceLoopState | None = None
    hotline: HotlineLoopState | None = None
    whistles: list[WhistleState] = []
    emergencies: list[EmergencyState] = []
    summary: IncidentSummary | None = None

    def timeline(self) -> list[TimelineEntry]:
        if self.summary is not None:
            return self.summary.timeline
        entries = list(self.incident.timeline if self.incident else [])
        for loop in (self.police, self.hotline, *self.whistles, *self.emergencies):
            if loop is not None:
                entries += loop.timeline
        return sorted(entries, key=lambda e: e.at)


class IncidentListing(BaseModel):
    incident_id: str
    status: str
    stage: str
    owner: str
    origin: str
    township: str
    category: str
    overdue: bool
    whistled: bool = False
    reports: int = 1
    started: datetime | None = None
    step: str = ""  # what waits now: the deadline's label (签收时限 …)
    loop: str = ""  # incident | police | hotline | whistle | emergency
    waiting_on: list[str] = []  # the units that owe it, by full name
    due: datetime | None = None
    supervisions: int = 0


def parse_when(value: str, zone, what: str) -> datetime:
    """A date (the day's start in the district's zone) or an ISO time; else a clear error."""
    value = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            at = datetime.combine(date.fromisoformat(value), time(), zone)
        else:
            at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{what}: {value!r} is not a date (2026-12-01) or a time (2026-12-01T08:00)"
        ) from None
    at = at if at.tzinfo else at.replace(tzinfo=zone)
    try:  # searched in UTC, and an end date taken to the end of its day
        (at + timedelta(days=1)).astimezone(UTC), (at - timedelta(days=1)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{what}: {value!r} is too near the year 1 or 9999") from None
    return at
