"""Record activities: writes to the records store.

Run as local activities, because they are quick and frequent: each costs one marker in the
history instead of three events and a round trip through the server; through an outage the
workflow runs the same write as a regular activity (workflows.writing). A write the database
refuses for its data (a value it cannot hold, a broken constraint) can never succeed, so it is
`RecordRefused` at once; anything else (the database down, a table or grant missing while a
deploy is under way) is retried until the database answers.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import GatewayActivities
from linkage.domain.record_inputs import RecordStepInput, RecordStepResult
from linkage.records.store import Store
from linkage.records.tables import Incident
from linkage.settings.logs import get_logger, tell_names

REFUSED = (DataError, IntegrityError, ValueError)  # the data itself: never an outage


def refused(err: Exception) -> ApplicationError:
    """The database's own refusal, without the values it was given (they may be personal)."""
    return ApplicationError(
        f"the records database refused the write: {type(err).__name__}",
        type="RecordRefused",
        non_retryable=True,
    )


class RecordActivities:
    def __init__(self, store: Store, gateway: GatewayActivities) -> None:
        self.store = store
        self.gateway = gateway
        self.named: set[str] = set()  # incidents whose caller's name the logs were told

    def _tell_caller(self, incident_id: str) -> None:
        """A step's note may name the caller (已电话联系王小明): the logs mask that name."""
        try:
            row = self.store.get(Incident, incident_id)
        except Exception:  # noqa: BLE001 - a log's masking never fails the write
            return
        if row is not None and row.caller_name:
            tell_names(row.caller_name)
            if len(self.named) > 10_000:
                self.named.clear()
            self.named.add(incident_id)

    @activity.defn
    def record_steps(self, input: RecordStepInput) -> RecordStepResult:
        """The steps and their snapshot; then each queued message, into the outbox where its
        target reads it (idempotent by key, so a retried write adds nothing)."""
        try:
            if input.steps or input.incident or input.case or input.order or input.work:
                self.store.record_steps(input.model_copy(update={"outgoing": []}))
            receipts = [self.gateway.put_in_outbox(m) for m in input.outgoing]
        except REFUSED as err:
            raise refused(err) from None
        for incident_id in {step.incident_id for step in input.steps} - self.named:
            self._tell_caller(incident_id)
        for step in input.steps:
            get_logger(incident_id=step.incident_id).info(
                "step",
                loop=step.loop,
                step=step.step,
                action=step.action,
                actor=step.actor,
                note=step.note,
            )
        return RecordStepResult(receipts=receipts)
