"""What every linkage workflow shares: the timeline, record writes, deadlines, outgoing sends,
and the rule that an action answers with the state it produced.

A workflow keeps named deadlines (反馈时限). One timer waits for the earliest point among them
(a reminder, the deadline itself, the next supervision) and is re-armed only when that point
moves. Updates change the state; the run loop wakes on any change, acts on passed time points,
writes the steps recorded since the last write in one local activity, and then marks the change
settled: an update handler waits for that before it answers, so its answer is the state the
action led to. Pushes, replies and notices are sent beside the run loop, never in its way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.gateway import GatewayActivities
    from activities.records import RecordActivities
    from linkage.models import Actor, DeadlineView, Role, SupervisionLimits, TimelineEntry
    from linkage.records import (
        DeliveryReceipt,
        EmergencyNotice,
        PushInput,
        RecordStepInput,
        ReplyInput,
        StepRecord,
    )
    from linkage.temporal import OVERDUE

RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)  # a database outage is waited out; a write the database refuses fails (non-retryable)
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["DeliveryRefused"],
)
GATEWAY_GIVE_UP = timedelta(days=3)  # an endpoint down this long: failed, and a person told

Outgoing = PushInput | ReplyInput | EmergencyNotice


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
    """Base of the incident, its loops, whistles and emergency linkages."""

    loop = "incident"

    def _init_base(self, incident_id: str, supervision: SupervisionLimits | None) -> None:
        """`supervision` may come later (the incident loads it when it opens)."""
        self.incident_id = incident_id
        self.timeline: list[TimelineEntry] = []
        self.deadlines: dict[str, Deadline] = {}
        self.overdue = False
        self.told_incident = 0
        self._supervision = supervision
        self._unwritten: list[StepRecord] = []
        self._close_claims = False
        self._changes = 0
        self._settled = -1
        self._finished = False
        self._timer: asyncio.Task | None = None
        self._timer_at: datetime | None = None
        self._sending: list[asyncio.Task] = []
        self._sending_to: dict[str, asyncio.Task] = {}
        self._attributes: dict[str, Any] = {}
        self._attributes_due: dict[str, Any] = {}
        self._details = ""

    # --- records --------------------------------------------------------------------------

    def record(self, step: str, action: str, actor: Actor | str = "system", note: str = "") -> None:
        """Add to the timeline; the run loop writes it, with the state it changed, before the
        action that made it answers."""
        entry = TimelineEntry(
            at=workflow.now(), loop=self.loop, step=step, action=action, actor=str(actor), note=note
        )
        self.timeline.append(entry)
        seq = len(self.timeline)
        self._unwritten.append(
            StepRecord.of(workflow.info().workflow_id, seq, self.incident_id, entry)
        )

    async def write(self) -> None:
        """Write the steps recorded since the last write, and the snapshot, in one local
        activity (and the search attributes changed meanwhile, in one upsert)."""
        self._upsert_due()
        while self._unwritten:
            steps, self._unwritten = self._unwritten, []
            seq = len(self.timeline)
            snapshot = {
                k: v.model_copy(update={"version": seq}) for k, v in self.snapshot().items()
            }
            try:
                await workflow.execute_local_activity_method(
                    RecordActivities.record_steps,
                    RecordStepInput(steps=steps, close=self._close_claims, **snapshot),
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                )
            except ActivityError as err:
                raise ApplicationError(
                    f"the records database refused {self.incident_id}'s step "
                    f"{steps[0].step}/{steps[0].action}: {err.cause or err}",
                    type="RecordRefused",
                    non_retryable=True,
                ) from err

    def changed(self) -> None:
        """Wake the run loop after an update changed the state."""
        self._changes += 1

    async def settled(self) -> None:
        """Wait until the run loop has acted on every change made so far (or the workflow is
        finishing), so that an update answers with the state its action led to."""
        self.changed()
        target = self._changes
        await workflow.wait_condition(lambda: self._settled >= target or self._finished)

    def finishing(self) -> None:
        """The run is over: handlers waiting to settle answer now, with the final state."""
        self._finished = True

    def upsert(self, key: SearchAttributeKey, value: Any) -> None:
        """Upsert a search attribute when its value changes; the changes made between two
        writes go out as one upsert (each upsert is a history event)."""
        if self._attributes.get(key.name, object()) != value:
            self._attributes[key.name] = value
            self._attributes_due[key.name] = key.value_set(value)

    def _upsert_due(self) -> None:
        if self._attributes_due:
            workflow.upsert_search_attributes(list(self._attributes_due.values()))
            self._attributes_due = {}

    def known_attributes(self, **values: Any) -> None:
        """The values the workflow was started with, so they are not upserted again."""
        self._attributes.update(values)

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
        self.record(
            deadline.name,
            "remind",
            note=f"催办: {deadline.label} 将于 {deadline.at.isoformat(timespec='minutes')} 到期",
        )

    async def on_missed(self, deadline: Deadline) -> bool:
        """A deadline passed. Return True to supervise it (督办), False when the hook settled it."""
        return True

    async def _supervise(self, deadline: Deadline) -> None:
        assert self._supervision is not None
        deadline.supervisions += 1
        note = f"督办 (第 {deadline.supervisions} 次): {deadline.label} 已超时"
        if deadline.supervisions < self._supervision.max_times:
            deadline.next_supervision = workflow.now() + hours(self._supervision.every_hours)
        else:
            deadline.next_supervision = None
            note += "，已达督办次数上限"
        self.mark_overdue()
        self.record(deadline.name, "supervise", note=note)
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
        """Act on passed time points, write what was recorded, settle, and wait for a change."""
        while True:
            seen = self._changes
            await self._time_points()
            await self.write()
            if done():
                return
            if self._changes != seen:
                continue  # something changed while we wrote: act on it first
            self._settled = seen
            self._show_details()
            self._arm_timer()
            await workflow.wait_condition(self._woken(seen, done, self._timer))

    def _woken(self, seen: int, done: Callable[[], bool], timer: asyncio.Task | None):
        return lambda: self._changes != seen or done() or (timer is not None and timer.done())

    def _arm_timer(self) -> None:
        """One timer for the earliest time point; re-armed only when that point moves."""
        points = [(p, d.label) for d in self.deadlines.values() if (p := d.next_point())]
        wake, label = min(points, key=lambda p: p[0]) if points else (None, "")
        if wake == self._timer_at and self._timer is not None and not self._timer.done():
            return
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer, self._timer_at = None, wake
        if wake is not None:
            delay = max(wake - workflow.now(), timedelta(milliseconds=1))
            self._timer = asyncio.create_task(workflow.sleep(delay, summary=label))

    def _show_details(self) -> None:
        details = self.details()
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)

    async def close_out(self) -> None:
        """Before the run returns: every send delivered or failed, every step written, every
        handler answered."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        await workflow.wait_condition(lambda: all(t.done() for t in self._sending))
        await self.write()
        self.finishing()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.write()  # what the last handlers recorded

    # --- sending (双推送, replies, notices) -------------------------------------------------

    def send(
        self,
        message: Outgoing,
        summary: str,
        then: Callable[[DeliveryReceipt], Awaitable[None]] | None = None,
        failed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Send beside the run loop: deadlines are handled while the other side is down.

        The gateway activity writes its own step when the message is taken; `then` runs once it
        is, and `failed` when it never can be (a 4xx answer, or an outage past GATEWAY_GIVE_UP).
        """
        number = len(self._sending) + 1
        message = message.model_copy(
            update={"step_id": f"{workflow.info().workflow_id}#send-{number}", "loop": self.loop}
        )
        chain = _chain(message)
        earlier = self._sending_to.get(chain)  # pushes between the platforms go in order
        task = asyncio.create_task(self._deliver(message, summary, then, failed, earlier))
        self._sending.append(task)
        self._sending_to[chain] = task

    async def _deliver(self, message: Outgoing, summary: str, then, failed, earlier) -> None:
        if earlier is not None:
            await asyncio.wait([earlier])
        method = {
            ReplyInput: GatewayActivities.reply_to_citizen,
            EmergencyNotice: GatewayActivities.notify_emergency_unit,
        }.get(type(message), GatewayActivities.push_to_platform)
        try:
            receipt: DeliveryReceipt = await workflow.execute_activity_method(
                method,
                message,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=GATEWAY_GIVE_UP,
                retry_policy=GATEWAY_RETRY,
                summary=summary,
            )
        except ActivityError as err:
            reason = str(err.cause.message if err.cause else err)  # type: ignore[union-attr]
            self.record("push", "failed", note=f"{message.key} 发送失败: {reason}")
            self.mark_overdue()
            self.changed()
            if failed is not None:
                await failed(reason)
            return
        at = receipt.at or workflow.now()
        self.timeline.append(
            TimelineEntry(at=at, loop=self.loop, step="push", action="sent", note=receipt.note)
        )
        self.changed()
        if then is not None:
            await then(receipt)

    # --- telling the incident -------------------------------------------------------------

    async def tell_incident(self, signal: str, message: BaseModel) -> None:
        """Signal the parent incident from one of its child workflows; counted, so that the
        client can wait until the incident has acted on it."""
        parent = workflow.info().parent
        if parent is not None:
            self.told_incident += 1
            message = message.model_copy(update={"loop": workflow.info().workflow_id})
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(signal, message)


def _chain(message: Outgoing) -> str:
    """Messages in one chain go out in the order they were made: the pushes between the two
    platforms (an incident before its result), the replies, each emergency unit's notices."""
    if isinstance(message, EmergencyNotice):
        return f"emergency:{message.unit_code}"
    return "sms" if isinstance(message, ReplyInput) else "platforms"
