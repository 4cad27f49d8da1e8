"""The timeline and its writes to the records database, shared by every linkage workflow.

A write is quick and frequent, so it runs as a local activity: one marker in the history. When
the database does not answer (an outage, a migration not yet run, a revoked grant), the local
activity gives up after a few seconds and the same write goes on as a regular activity, which
the server retries with back-off without a history event per attempt: an outage of a day costs
the incident a few dozen events, not thousands, and it resumes by itself once the database is
back. Only a write the database refuses for its data can never succeed; that batch is set
aside, and the duty desks are summoned (whistle rule `record_refused`), while the incident
goes on.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from linkage.domain.models import Actor, TimelineEntry
    from linkage.domain.record_inputs import RecordStepInput, RecordStepResult, StepRecord, WorkList

from workflows.loop_contracts import RULE_TRIGGERED, RuleEvent

WRITE_WORK = "write-work-queue"  # patch: histories from before the work queues wrote none
WRITE_WITH_NEXT = "write-with-next-stage"  # a wait that is over leaves its write to the next

# The quick path: a few attempts within seconds, never past the workflow task's own timeout.
QUICK_WRITE = timedelta(seconds=8)
QUICK_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=4,
    non_retryable_error_types=["RecordRefused"],
)
# The patient path: retried by the server, with back-off, for a day at a time.
PATIENT_WRITE = timedelta(days=1)
PATIENT_RETRY_MINUTES = 5.0  # (the table's supervision.records_retry_minutes, when it has one)


def patient_retry(every_minutes: float = PATIENT_RETRY_MINUTES) -> RetryPolicy:
    """Tried again with back-off, at most every `every_minutes` (the table's)."""
    most = timedelta(minutes=every_minutes)
    return RetryPolicy(
        initial_interval=max(timedelta(seconds=5), most / 32),
        backoff_coefficient=2.0,
        maximum_interval=most,
        non_retryable_error_types=["RecordRefused"],
    )


PATIENT_RETRY = patient_retry()
WRITE_ATTEMPT = timedelta(seconds=30)
# Kept for the opening's own local activity (the intake) and older imports.
RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = QUICK_RETRY


def refused_for_its_data(err: BaseException) -> str | None:
    """The database's refusal of the data itself (never an outage), or None."""
    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
    if isinstance(cause, ApplicationError) and cause.type == "RecordRefused":
        return cause.message
    return None


def gave_up_at_once(err: ActivityError) -> bool:
    """An error no wait mends: the data refused, or a configuration a person must mend."""
    cause = err.cause
    config = isinstance(cause, ApplicationError) and cause.type == "ConfigError"
    return config or refused_for_its_data(err) is not None


async def until_answered(method, arg, *, retry: RetryPolicy, summary: str):
    """Run an activity that writes to the records database, retried by the server with back-off
    (no history event an attempt), a day at a time, until the database answers. An error no
    wait mends (`gave_up_at_once`) is raised."""
    while True:
        try:
            return await workflow.execute_activity_method(
                method,
                arg,
                start_to_close_timeout=WRITE_ATTEMPT,
                schedule_to_close_timeout=PATIENT_WRITE,
                retry_policy=retry,
                summary=summary,
            )
        except ActivityError as err:
            if gave_up_at_once(err):
                raise


class Writing:
    """Mixed into LinkageWorkflow; `timeline`, `_unwritten`, `_queued`, `snapshot`, `work`
    and the rest come from it."""

    def record(
        self,
        step: str,
        action: str,
        actor: Actor | str = "system",
        note: str = "",
        unit: str | None = None,
    ) -> None:
        """Add to the timeline; the run loop writes it, with the state it changed, before the
        action that made it answers. `unit` is whom the step counts for or against (双考核):
        by default the loop's unit, else the acting party's unit."""
        if unit is None:
            unit = getattr(self, "unit", "") or (actor.unit if isinstance(actor, Actor) else "")
        entry = TimelineEntry(
            at=workflow.now(),
            loop=self.loop,
            step=step,
            action=action,
            actor=str(actor),
            note=note,
            unit=unit,
        )
        self.timeline.append(entry)
        prefix = self._step_prefix()
        self._unwritten.append(StepRecord.of(prefix, len(self.timeline), self.incident_id, entry))

    def _step_prefix(self) -> str:
        """Steps are keyed `<workflow ID>#<sequence>` so that a retried write adds nothing; a
        run after a reset (or a continue-as-new) numbers its steps again, so its run is named
        too, lest its steps be taken for the first run's and dropped."""
        if self._run_prefix is None:  # (only the write's input changes: no patch needed)
            info = workflow.info()
            self._run_prefix = f"{info.workflow_id}@{info.run_id[-12:]}"
        return self._run_prefix

    async def write(self) -> None:
        """Write the steps recorded since the last write, the snapshot and the messages queued,
        in one transaction; and what the workflow waits on, when that changed without a step
        (a deadline armed when a push is delivered)."""
        while self._unwritten or self._queued or self._work_due():
            steps, self._unwritten = self._unwritten, []
            queued, self._queued = self._queued, []
            seq = len(self.timeline)
            snapshot = {
                k: v.model_copy(update={"version": seq}) for k, v in self.snapshot().items()
            }
            work = self.work()
            changed_work = None
            if work != self._work_written:
                changed_work = WorkList(
                    workflow_id=workflow.info().workflow_id,
                    incident_id=self.incident_id,
                    items=work,
                    version=seq,
                )
            batch = RecordStepInput(
                steps=steps,
                close=self._close_claims,
                work=changed_work,
                outgoing=[q.message for q in queued],
                incident_id=self.incident_id,
                **snapshot,
            )
            result = await self._write_batch(batch)
            refused: list[StepRecord] = []
            if result is None and self._apart(batch):
                result, refused = await self._write_apart(batch)
            self._work_written = work
            if result is None:  # refused for its data: set aside, a person told; tried again
                await self._batch_refused(batch, queued)  # with the next change, not now
                return
            self._after_write(queued, result.receipts)
            if refused:  # some steps only: the rest is written and the messages taken
                await self._batch_refused(batch.model_copy(update={"steps": refused}), [])
                return

    def _apart(self, batch: RecordStepInput) -> bool:
        """A refused batch is written again part by part when it has parts to tell apart: its
        steps, since a wait that is over leaves them to the next stage's write (patch)."""
        rest = batch.model_copy(update={"steps": [], "incident_id": ""})
        several = len(batch.steps) > 1 or (batch.steps and rest != RecordStepInput())
        return bool(several) and workflow.patched(WRITE_WITH_NEXT)

    async def _write_apart(
        self, batch: RecordStepInput
    ) -> tuple[RecordStepResult | None, list[StepRecord]]:
        """The state and messages without the steps, then each step on its own: only what the
        database refuses is set aside (a step it cannot hold does not hold back a push)."""
        result = await self._write_batch(batch.model_copy(update={"steps": []}))
        if result is None:
            return None, batch.steps
        refused = []
        for step in batch.steps:
            alone = RecordStepInput(steps=[step], incident_id=batch.incident_id)
            if await self._write_batch(alone) is None:
                refused.append(step)
        return result, refused

    async def _write_batch(self, batch: RecordStepInput) -> RecordStepResult | None:
        """Quickly as a local activity; through an outage patiently as an activity the server
        retries; None when the database refuses the data itself."""
        try:
            return await workflow.execute_local_activity_method(
                RecordActivities.record_steps,
                batch,
                schedule_to_close_timeout=QUICK_WRITE,
                retry_policy=QUICK_RETRY,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's own error, too
            if refused_for_its_data(err) is not None:
                self._refusal = refused_for_its_data(err)
                return None
        try:  # the database does not answer: wait for it
            return await until_answered(
                RecordActivities.record_steps,
                batch,
                retry=self._patient_retry(),
                summary="记录库不可用，等待恢复 waiting for the records database",
            )
        except ActivityError as err:
            self._refusal = refused_for_its_data(err)
            return None

    def _patient_retry(self) -> RetryPolicy:
        every = getattr(self._supervision, "records_retry_minutes", PATIENT_RETRY_MINUTES)
        return patient_retry(every)

    async def _batch_refused(self, batch: RecordStepInput, queued: list) -> None:
        """The database refused the batch for its data: its steps stay in the timeline (not
        written again), its messages count as undeliverable, and the duty desks are summoned
        once."""
        reason = self._refusal or "the records database refused the write"
        self.write_refusals += 1
        self.timeline.append(
            TimelineEntry(
                at=workflow.now(),
                loop=self.loop,
                step="records",
                action="record_refused",
                note=f"记录写入被数据库拒绝 ({len(batch.steps)} 条，未入库): {reason}",
            )
        )
        self.mark_overdue()
        for item in queued:
            if item.failed is not None:
                self._sending.append(asyncio.create_task(item.failed(reason)))
        if self.write_refusals == 1:
            await self.on_write_refused(reason)

    async def on_write_refused(self, reason: str) -> None:
        """A write was refused for its data: a loop tells its incident, which blows the whistle
        rule `record_refused` (the incident itself overrides this)."""
        await self.tell_incident(
            RULE_TRIGGERED, RuleEvent(rule="record_refused", units=[], note=reason[:200])
        )

    def _work_due(self) -> bool:
        """What it waits on changed with no step to carry it: written on its own, except in a
        history from before the work queues (it wrote nothing then)."""
        return self.work() != self._work_written and workflow.patched(WRITE_WORK)
