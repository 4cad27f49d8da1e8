"""What every linkage workflow shares: the timeline, record writes, deadlines and outgoing sends.

A workflow keeps named deadlines (反馈时限). One timer at a time waits for the earliest point
among them (a reminder, the deadline itself, the next supervision), so an incident costs a
timer per wait and not one per rule. Updates change the state and the deadlines; the run loop
wakes on any change, sends whatever is queued, and acts on the time points that passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.gateway import GatewayActivities
    from activities.records import RecordActivities
    from linkage.models import Actor, DeadlineView, Role, SupervisionLimits, TimelineEntry
    from linkage.records import PushInput, RecordStepInput, ReplyInput, StepRecord
    from linkage.temporal import OVERDUE

RECORD_TIMEOUT = timedelta(seconds=30)
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)  # no attempt limit: a push waits, pending and visible, until the other side takes it


def refuse(message: str) -> None:
    """Refuse an update in its validator: the caller sees the message, nothing changes."""
    raise ApplicationError(message, type="ActionRefused", non_retryable=True)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        refuse(f"this action is for {allowed}, not {actor.role.value}")


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


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


class LinkageWorkflow:
    """Base of DivertedIncident, PoliceLoop and HotlineLoop."""

    loop = "incident"

    def _init_base(self, incident_id: str, supervision: SupervisionLimits | None) -> None:
        """`supervision` may come later (the incident loads it when it opens)."""
        self.incident_id = incident_id
        self.timeline: list[TimelineEntry] = []
        self.deadlines: dict[str, Deadline] = {}
        self.overdue = False
        self._supervision = supervision
        self._outgoing: list[PushInput | ReplyInput] = []
        self._changes = 0

    # --- records --------------------------------------------------------------------------

    async def record(
        self,
        step: str,
        action: str,
        actor: Actor | str = "system",
        note: str = "",
    ) -> None:
        """Add to the timeline and write it, with the state it changed, to the records store."""
        entry = TimelineEntry(
            at=workflow.now(),
            loop=self.loop,
            step=step,
            action=action,
            actor=str(actor),
            note=note,
        )
        self.timeline.append(entry)
        self._changes += 1
        seq = len(self.timeline)
        snapshot = {k: v.model_copy(update={"version": seq}) for k, v in self.snapshot().items()}
        await workflow.execute_local_activity_method(
            RecordActivities.record_step,
            RecordStepInput(
                step=StepRecord.of(workflow.info().workflow_id, seq, self.incident_id, entry),
                **snapshot,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
        )

    def changed(self) -> None:
        """Wake the run loop after an update changed the state."""
        self._changes += 1

    # --- deadlines ------------------------------------------------------------------------

    def set_deadline(
        self, name: str, label: str, after: timedelta, remind_before: list[timedelta] | None = None
    ) -> Deadline:
        now = workflow.now()
        at = now + after
        reminders = sorted(at - b for b in (remind_before or []) if now < at - b)
        deadline = Deadline(name=name, label=label, at=at, reminders=reminders)
        self.deadlines[name] = deadline
        self.changed()
        return deadline

    def past(self, name: str) -> bool:
        """Whether the named deadline has passed by the clock (an update may come before the
        timer that marks it missed has been handled)."""
        deadline = self.deadlines.get(name)
        return deadline is not None and workflow.now() > deadline.at

    def clear_deadline(self, name: str) -> None:
        if self.deadlines.pop(name, None) is not None:
            self.changed()

    def extend_deadline(self, name: str, by: timedelta) -> Deadline:
        """An approved extension (延期): a later deadline, no missed state, no reminders due."""
        old = self.deadlines[name]
        deadline = Deadline(name=name, label=old.label, at=old.at + by)
        if old.missed:
            deadline.at = max(deadline.at, workflow.now() + by)
        self.deadlines[name] = deadline
        self.changed()
        return deadline

    async def on_reminder(self, deadline: Deadline) -> None:
        await self.record(
            deadline.name,
            "remind",
            note=f"催办: {deadline.label} 将于 {deadline.at.isoformat(timespec='minutes')} 到期",
        )

    async def on_missed(self, deadline: Deadline) -> bool:
        """A deadline passed. Return True to supervise it (督办), False when the hook settled it."""
        return True

    async def _supervise(self, deadline: Deadline) -> None:
        deadline.supervisions += 1
        note = f"督办 (第 {deadline.supervisions} 次): {deadline.label} 已超时"
        if deadline.supervisions < self._supervision.max_times:
            deadline.next_supervision = workflow.now() + hours(self._supervision.every_hours)
        else:
            deadline.next_supervision = None
            note += "，已达督办次数上限"
        self.mark_overdue()
        await self.record(deadline.name, "supervise", note=note)
        if deadline.next_supervision is None and self._current(deadline):
            await self.on_supervision_exhausted(deadline)

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        """Supervised the most times and still missed: a whistle rule may apply."""

    def mark_overdue(self) -> None:
        if not self.overdue:
            self.overdue = True
            workflow.upsert_search_attributes([OVERDUE.value_set(True)])

    async def _time_points(self) -> None:
        now = workflow.now()
        for deadline in list(self.deadlines.values()):
            while deadline.reminders and deadline.reminders[0] <= now:
                deadline.reminders.pop(0)
                await self.on_reminder(deadline)
            if self.deadlines.get(deadline.name) is not deadline:
                continue
            if not deadline.missed and deadline.at <= now:
                deadline.missed = True
                if await self.on_missed(deadline) and self._current(deadline):
                    await self._supervise(deadline)
            elif deadline.next_supervision is not None and deadline.next_supervision <= now:
                await self._supervise(deadline)

    def _current(self, deadline: Deadline) -> bool:
        """Still the deadline in force (an update may have met or replaced it during an await)."""
        return self.deadlines.get(deadline.name) is deadline

    def snapshot(self) -> dict[str, BaseModel]:
        """The record snapshot (case, order or incident progress) that step writes carry."""
        return {}

    def details(self) -> str:
        """The current details a supervisor sees on the workflow in the Web UI."""
        return ""

    def deadline_views(self) -> list[DeadlineView]:
        return [
            DeadlineView(
                name=d.name, label=d.label, at=d.at, missed=d.missed, supervisions=d.supervisions
            )
            for d in self.deadlines.values()
        ]

    # --- the run loop ---------------------------------------------------------------------

    async def run_until(self, done: Callable[[], bool]) -> None:
        """Send what is queued, act on passed time points, and wait for the next change."""
        while True:
            while self._outgoing:
                await self._send(self._outgoing.pop(0))
            if done():
                return
            workflow.set_current_details(self.details())
            points = [p for d in self.deadlines.values() if (p := d.next_point()) is not None]
            seen = self._changes

            def woken(seen: int = seen) -> bool:
                return self._changes != seen or bool(self._outgoing) or done()

            if not points:
                await workflow.wait_condition(woken)
                continue
            wake = min(points)
            label = next(d.label for d in self.deadlines.values() if d.next_point() == wake)
            delay = wake - workflow.now()
            if delay > timedelta(0) and await self._woken_before(woken, delay, label):
                continue
            await self._time_points()

    @staticmethod
    async def _woken_before(woken: Callable[[], bool], delay: timedelta, label: str) -> bool:
        """Wait for a change, or for the delay (a timer named after the deadline) to pass."""
        try:
            await workflow.wait_condition(woken, timeout=delay, timeout_summary=label)
        except TimeoutError:
            return False
        return True

    async def handlers_finished(self) -> None:
        """Let every update handler finish (and its write land) before the workflow returns."""
        await workflow.wait_condition(workflow.all_handlers_finished)

    def send(self, message: PushInput | ReplyInput) -> None:
        self._outgoing.append(message)

    async def _send(self, message: PushInput | ReplyInput) -> None:
        method = (
            GatewayActivities.reply_to_citizen
            if isinstance(message, ReplyInput)
            else GatewayActivities.push_to_platform
        )
        receipt = await workflow.execute_activity_method(
            method,
            message,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=GATEWAY_RETRY,
            summary=f"{message.key}",
        )
        target = "sms" if isinstance(message, ReplyInput) else message.target.value
        await self.record(
            "push", "sent", note=f"{message.key} → {target} ({receipt.channel}, {receipt.status})"
        )
