"""Plain data the workflows keep in their state: classes with no workflow code in them.

The sandbox builds every module of workflow code again for each workflow run; a dataclass costs
it a few compiled functions every time. These are passed through instead (workers.main), built
once per worker: they call nothing of Temporal's, read no clock and do no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from linkage.domain.models import Urgency
from linkage.domain.record_inputs import DeliveryReceipt, EmergencyNotice, PushInput, ReplyInput
from linkage.domain.time_limits import ReviewLimits

Outgoing = PushInput | ReplyInput | EmergencyNotice
Then = Callable[[DeliveryReceipt], Awaitable[None]] | None
Failed = Callable[[str], Awaitable[None]] | None


@dataclass
class Deadline:
    """A feedback deadline with its reminder points and the supervisions after it."""

    name: str
    label: str  # shown on the timer in the Web UI
    at: datetime
    reminders: list[datetime] = field(default_factory=list)
    missed: bool = False
    supervisions: int = 0
    next_supervision: datetime | None = None

    def next_point(self) -> datetime | None:
        if self.reminders:
            return self.reminders[0]
        if not self.missed:
            return self.at
        return self.next_supervision


@dataclass
class Queued:
    """A message waiting for the next record write (workflows.sending)."""

    message: Outgoing
    summary: str
    then: Then
    failed: Failed


@dataclass(frozen=True)
class StageDeadline:
    """A waiting stage's deadline in the incident's stage table (workflows.stages)."""

    label: str
    # hours, or working days ("1wd"), for an incident of this urgency
    limit_hours: Callable[[ReviewLimits, Urgency], float | str]
    missed: str = ""
