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
from linkage.domain.record_inputs import DeliveryReceipt, RecordStepInput, RecordStepResult
from linkage.records.store import Store
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
            caller = self.store.caller(incident_id)
        except Exception:  # noqa: BLE001 - a log's masking never fails the write
            return
        if caller is not None and caller[0]:
            tell_names(caller[0])
            if len(self.named) > 10_000:
                self.named.clear()
            self.named.add(incident_id)

    @activity.defn
    def record_steps(self, input: RecordStepInput) -> RecordStepResult:
        """The steps, their snapshot, and each queued message whose targets read the outbox,
        with the step that says so, in one transaction (idempotent by key, so a retried write
        adds nothing); a message for an HTTP endpoint comes back `queued` for an activity."""
        try:
            planned = [(m, self.gateway.for_the_outbox(m)) for m in input.outgoing]
            outbox = [e for _, entries in planned for e in entries or ()]
            statuses = self.store.record_steps(
                input.model_copy(update={"outgoing": []}),
                outbox,
                lambda statuses: [s for _, s in self._sent(planned, statuses) if s],
            )
        except REFUSED as err:
            raise refused(err) from None
        receipts = [receipt for receipt, _ in self._sent(planned, statuses)]
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
        for entry in outbox:
            get_logger(incident_id=entry.incident_id, key=entry.key, target=entry.target).info(
                "message in outbox", kind=entry.kind
            )
        return RecordStepResult(receipts=receipts)

    def _sent(self, planned: list, statuses: dict[str, str]) -> list:
        """Per message: its receipt and the step that says where it went (None for a message
        an activity posts)."""
        out = []
        for message, entries in planned:
            if entries is None:
                queued = DeliveryReceipt(
                    key=message.key, target="", channel="http", status="queued"
                )
                out.append((queued, None))
                continue
            receipts = [
                DeliveryReceipt(
                    key=e.key, target=e.target, channel="outbox", status=statuses[e.key]
                )
                for e in entries
            ]
            out.append(self.gateway.sent(message, receipts))
        return out
