"""What every linkage workflow shares: the timeline and its writes, the run loop, and the rule
that an action answers with the state it produced.

Updates change the state; the run loop wakes on any change, acts on passed time points, writes
the steps recorded since the last write (with the snapshot they changed and the messages they
queued) in one local activity, and then marks the change settled: an update handler waits for
that before it answers, so its answer is the state the action led to. Deadlines are waited for
by as few timers as can serve: a new one only when the earliest point comes before every timer
already running (one that fires early just wakes the loop, which arms the next).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from linkage.domain.models import Actor, Role, TimelineEntry, WorkItem
    from linkage.domain.record_inputs import StepRecord
    from linkage.domain.search_attributes import OVERDUE, UNITS
    from linkage.domain.time_limits import SupervisionLimits

from workflows.deadlines import Deadline, Deadlines, hours
from workflows.loop_contracts import LATE_SIGNAL, LateNotice
from workflows.sending import Sending
from workflows.writing import RECORD_RETRY, RECORD_TIMEOUT, WRITE_WITH_NEXT, Writing

__all__ = [
    "RECORD_RETRY",
    "RECORD_TIMEOUT",
    "Deadline",
    "LinkageWorkflow",
    "hours",
    "refuse",
    "require_role",
]

# Patches (workflow.patched) for histories made before overdue followed what is late now.
TELL_LATE = "tell-incident-late"
OVERDUE_NOW = "overdue-now"
UNITS_SHOWN = "units-attribute"  # LinkageUnits follows the unit dispatched or commanded
OWN_INCIDENT_ONLY = "own-incident-only"  # a harassment case never signals the report behind it


def refuse(message: str) -> None:
    """Refuse an update in its validator: the caller sees the message, nothing changes."""
    raise ApplicationError(message, type="ActionRefused", non_retryable=True)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        refuse(f"this action is for {allowed}, not {actor.role.value}")


class LinkageWorkflow(Writing, Deadlines, Sending):
    """Base of the incident, its loops, whistles and emergency linkages."""

    loop = "incident"
    writes_with_next = False  # run_until: see there

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
        self._timers: list[tuple[datetime, asyncio.Task]] = []
        self._attributes: dict[str, Any] = {}
        self._attributes_due: dict[str, Any] = {}
        self._details = ""
        self._work_written: list[WorkItem] = []
        self._late_told: list[WorkItem] = []
        self._closing = False
        self._run_prefix: str | None = None  # of the step IDs (writing)
        self.write_refusals = 0  # batches the database refused for their data
        self._refusal = ""
        self._init_sending()

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

    def takes_part(self, unit: str) -> None:
        """A unit takes a part (dispatched, commanded): `LinkageUnits` finds the workflow by it.
        A loop starts with triage's unit in it, so the usual dispatch costs no event; another
        unit is upserted (not in a history from before the attribute)."""
        shown = list(self._attributes.get(UNITS.name) or [])
        if unit and unit not in shown and workflow.patched(UNITS_SHOWN):
            self.upsert(UNITS, [*shown, unit])

    def known_attributes(self, **values: Any) -> None:
        """The values the workflow was started with, so they are not upserted again."""
        self._attributes.update(values)

    def started_with(self, key: SearchAttributeKey) -> None:
        """Take an attribute's value from the start event itself: a history from before it was
        given at start has none, and upserts it as it did then."""
        value = workflow.info().typed_search_attributes.get(key)
        if value is not None:
            self._attributes[key.name] = list(value) if isinstance(value, list) else value

    def answer(self) -> BaseModel:
        """What an update answers: the state the action led to, without the timeline (the
        `state` query has it). An answer is kept in the history, and the whole timeline in
        every answer would make the history grow with the square of the actions."""
        return self.state().model_copy(update={"timeline": []})

    def snapshot(self) -> dict[str, BaseModel]:
        """The record snapshot (case, order or incident progress) that step writes carry."""
        return {}

    def details(self) -> str:
        """The current details a supervisor sees on the workflow in the Web UI."""
        return ""

    # --- what the workflow waits on, and overdue -------------------------------------------

    def waiting_on(self, deadline: str) -> list[str]:
        """The units (codes) that owe the named deadline's step."""
        return []

    def work(self) -> list[WorkItem]:
        """What the workflow waits on now, one item per deadline in force: the work queues'
        rows, written with the steps. Nothing once the run is closing."""
        if self._closing:
            return []
        workflow_id = workflow.info().workflow_id
        return [
            WorkItem(
                units=units,
                loop=self.loop,
                step=d.name,
                label=d.label,
                due=d.at,
                missed=d.missed,
                supervisions=d.supervisions,
                workflow_id=workflow_id,
            )
            for d in self.deadlines.values()
            if (units := self.waiting_on(d.name)) or d.missed
        ]

    def late_now(self) -> list[WorkItem]:
        """Every deadline missed and not yet met: the workflow's own (an incident adds its
        loops', whistles' and notices')."""
        return [item for item in self.work() if item.missed]

    async def _sync_overdue(self) -> None:
        """Overdue is one answer everywhere: a loop tells its incident what it has late, and
        LinkageOverdue says whether anything is late now (false again once it is met)."""
        parent = self._own_incident()
        own = [item for item in self.work() if item.missed]
        if parent is not None and own != self._late_told and workflow.patched(TELL_LATE):
            self._late_told = own
            await self._signal(
                parent, LATE_SIGNAL, LateNotice(workflow_id=workflow.info().workflow_id, items=own)
            )
        late = bool(self.late_now())
        shown = self._attributes.get(OVERDUE.name)
        if late and not shown:
            self.upsert(OVERDUE, True)
        elif shown and not late and workflow.patched(OVERDUE_NOW):
            self.upsert(OVERDUE, False)

    # --- the run loop ---------------------------------------------------------------------

    async def run_until(self, done: Callable[[], bool]) -> None:
        """Act on passed time points, write what was recorded, settle, and wait for a change.
        Once `done`, a workflow that `writes_with_next` leaves what was recorded to its next wait
        (or `close_out`), which writes it with the next stage's steps before any action answers:
        one write, not two. (A loop ends where its wait does: nothing to gain, a patch to pay.)"""
        while True:
            seen = self._changes
            await self._time_points()
            if done() and self.writes_with_next and workflow.patched(WRITE_WITH_NEXT):
                return
            await self.write()
            if done():
                return
            if self._changes != seen:
                continue  # something changed while we wrote: act on it first
            await self._sync_overdue()
            if self._changes != seen:
                continue
            self._settled = seen
            self._upsert_due()  # what changed since the last wait, in one upsert
            self._show_details()
            self._arm_timer()
            await workflow.wait_condition(self._woken(seen, done))

    def _woken(self, seen: int, done: Callable[[], bool]) -> Callable[[], bool]:
        timers = [task for _, task in self._timers]
        return lambda: self._changes != seen or done() or any(t.done() for t in timers)

    def _arm_timer(self) -> None:
        """Start a timer only when the earliest time point comes before every running timer;
        timers are never cancelled (each cancellation is an event of its own)."""
        self._timers = [(at, task) for at, task in self._timers if not task.done()]
        points = [(p, d.label) for d in self.deadlines.values() if (p := d.next_point())]
        if not points:
            return
        wake, label = min(points, key=lambda p: p[0])
        if any(at <= wake for at, _ in self._timers):
            return
        delay = max(wake - workflow.now(), timedelta(milliseconds=1))
        self._timers.append((wake, asyncio.create_task(workflow.sleep(delay, summary=label))))

    def _show_details(self) -> None:
        details = self.details()
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)

    async def close_out(self) -> None:
        """Before the run returns: every send taken or failed, every step written, every
        handler answered."""
        self._closing = True  # nothing waits on anyone any more
        await self.write()
        await workflow.wait_condition(self.all_sent)
        await self.write()
        self._upsert_due()
        self.finishing()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.write()  # what the last handlers recorded
        self._upsert_due()
        self._show_details()  # the Web UI shows how it ended, not the last stage it waited in

    # --- telling the incident -------------------------------------------------------------

    async def tell_incident(self, signal: str, message: BaseModel) -> None:
        """Signal the parent incident from one of its child workflows; counted, so that the
        client can wait until the incident has acted on it."""
        parent = self._own_incident()
        if parent is not None:
            self.told_incident += 1
            message = message.model_copy(update={"loop": workflow.info().workflow_id})
            await self._signal(parent, signal, message)

    def _own_incident(self) -> str | None:
        """The incident this workflow is a part of, if it was started by it: a loop, whistle or
        notice (`<incident>.…`). A workflow started for another incident and left to live on
        its own (a harassment case, started by the report that tipped it over) tells no one."""
        parent = workflow.info().parent
        if parent is None:
            return None
        if parent.workflow_id == self.incident_id or not workflow.patched(OWN_INCIDENT_ONLY):
            return parent.workflow_id
        return None

    async def _signal(self, workflow_id: str, signal: str, message: BaseModel) -> None:
        """Signal another workflow; one that has closed meanwhile fails nothing here."""
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(signal, message)
        except Exception as err:  # noqa: BLE001 - its only failure: no such running workflow
            workflow.logger.info("signal %s to %s not delivered: %s", signal, workflow_id, err)
