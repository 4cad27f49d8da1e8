"""Deadlines (反馈时限) with their reminders (催办) and supervisions (督办), shared by every
linkage workflow. A missed deadline is first offered to the workflow's own rule (`on_missed`);
what no rule settles is supervised at the table's interval, a bounded number of times.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.models import DeadlineView
    from linkage.domain.periods import DISTRICT_TZ
    from linkage.domain.search_attributes import OVERDUE
    from linkage.domain.workdays import WorkCalendar, span
    from workflows.plain import Deadline


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def local_time(at: datetime) -> str:
    """A due time as the district reads it (Asia/Shanghai, with its offset)."""
    return at.astimezone(DISTRICT_TZ).isoformat(timespec="minutes")


def _calendar(flow) -> WorkCalendar | None:
    """The working calendar the incident recorded: a loop's input carries it, the incident
    keeps it with its time-limit table."""
    found = getattr(getattr(flow, "input", None), "calendar", None)
    return found or getattr(getattr(flow, "limits", None), "calendar", None)


class Deadlines:
    """Mixed into LinkageWorkflow; `deadlines`, `_supervision` and `record` come from it."""

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

    def span(self, limit: float | str) -> timedelta:
        """How long a limit from the table runs from now: hours as they stand, working days
        ("1wd") counted on the calendar the incident recorded (never read here)."""
        return span(limit, workflow.now(), _calendar(self))

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
        self.record(
            deadline.name,
            "remind",
            note=f"催办: {deadline.label} 将于 {local_time(deadline.at)} 到期",
        )

    async def on_missed(self, deadline: Deadline) -> bool:
        """A deadline passed. Return True to supervise it (督办), False when the hook settled it."""
        return True

    async def _supervise(self, deadline: Deadline) -> None:
        assert self._supervision is not None
        deadline.supervisions += 1
        note = f"督办 (第 {deadline.supervisions} 次): {deadline.label} 已超时"
        if deadline.supervisions < self._supervision.max_times:
            every = self._supervision.every(deadline.name)  # its kind's interval, or the table's
            deadline.next_supervision = workflow.now() + hours(every)
        else:
            deadline.next_supervision = None
            note += "，已达督办次数上限"
        self.mark_overdue()
        owing = self.waiting_on(deadline.name)
        # against the one unit that owes the step (110's command: its command centre), else the
        # loop's unit as every step
        self.record(
            deadline.name, "supervise", note=note, unit=owing[0] if len(owing) == 1 else None
        )
        if deadline.next_supervision is None and self._current(deadline):
            await self.on_supervision_exhausted(deadline)

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        """Supervised the most times and still missed: a whistle rule may apply."""

    def mark_overdue(self) -> None:
        self.overdue = True
        self.upsert(OVERDUE, True)

    async def _time_points(self) -> None:
        now = workflow.now()
        for deadline in list(self.deadlines.values()):
            while deadline.reminders and deadline.reminders[0] <= now:
                deadline.reminders.pop(0)
                await self.on_reminder(deadline)
            if not self._current(deadline):
                continue
            if not deadline.missed and deadline.at <= now:
                deadline.missed = True
                self.changed()
                if await self.on_missed(deadline) and self._current(deadline):
                    await self._supervise(deadline)
            elif deadline.next_supervision is not None and deadline.next_supervision <= now:
                await self._supervise(deadline)

    def _current(self, deadline: Deadline) -> bool:
        """Still the deadline in force (an update may have met or replaced it meanwhile)."""
        return self.deadlines.get(deadline.name) is deadline

    def deadline_views(self) -> list[DeadlineView]:
        return [
            DeadlineView(
                name=d.name, label=d.label, at=d.at, missed=d.missed, supervisions=d.supervisions
            )
            for d in self.deadlines.values()
        ]
