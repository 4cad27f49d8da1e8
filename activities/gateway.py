"""Gateway activities: pushes to the other platform (双推送), replies to citizens, and notices
to emergency units.

Every message is first written to the outbox under its idempotency key, so nothing is dropped
silently. With no endpoint configured for the target, the message waits there for the other
platform (or the SMS gateway) to read it. With an endpoint, it is POSTed with the key in an
Idempotency-Key header; a failure raises and Temporal retries, the row pending and visible in
`linkage outbox`. An answer that can never succeed (4xx other than 408 and 429) stops at once:
the row is marked failed with the reason and the workflow escalates it to a person.
Once a message is taken, the activity writes the workflow's timeline step itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from linkage.domain.record_inputs import (
    DeliveryReceipt,
    EmergencyNotice,
    OutboxEntry,
    Outgoing,
    PushInput,
    RecordStepInput,
    ReplyInput,
    StepRecord,
)
from linkage.records.store import Store
from linkage.settings.gateway import GatewayConfig
from linkage.settings.logs import get_logger

RETRYABLE_4XX = {408, 425, 429}


class GatewayActivities:
    def __init__(self, store: Store, config: GatewayConfig) -> None:
        self.store = store
        self.config = config

    def _deliver(self, entry: OutboxEntry) -> DeliveryReceipt:
        row = self.store.enqueue(entry)
        endpoint = self.config.endpoints.get(entry.target, "")
        log = get_logger(incident_id=entry.incident_id, key=entry.key, target=entry.target)
        receipt = DeliveryReceipt(key=entry.key, target=entry.target, channel="outbox", status="")
        if not endpoint:
            log.info("message in outbox", kind=entry.kind)
            return receipt.model_copy(update={"status": row.status})
        receipt.channel = "http"
        if row.status in ("delivered", "failed"):
            if row.status == "failed":
                raise self._refused(entry, row.last_error)
            return receipt.model_copy(update={"status": "delivered"})
        body = {"key": entry.key, "kind": entry.kind, "incident_id": entry.incident_id}
        body["payload"] = entry.payload
        try:
            response = httpx.post(
                endpoint,
                json=body,
                headers={"Idempotency-Key": entry.key},
                timeout=self.config.http.get("timeout_seconds", 10),
            )
            response.raise_for_status()
        except httpx.HTTPStatusError as err:
            status = err.response.status_code
            reason = f"HTTP {status} {err.response.reason_phrase}".strip()
            if 400 <= status < 500 and status not in RETRYABLE_4XX:
                self.store.mark_attempt(entry.key, reason, final=True)
                log.warning("delivery refused by the receiver", error=reason)
                raise self._refused(entry, reason) from None
            self.store.mark_attempt(entry.key, reason)
            log.warning("delivery failed, will retry", error=reason)
            raise
        except httpx.HTTPError as err:
            self.store.mark_attempt(entry.key, f"{type(err).__name__}: {err}")
            log.warning("delivery failed, will retry", error=str(err))
            raise
        self.store.mark_attempt(entry.key, None)
        log.info("message delivered", kind=entry.kind)
        return receipt.model_copy(update={"status": "delivered"})

    @staticmethod
    def _refused(entry: OutboxEntry, reason: str) -> ApplicationError:
        return ApplicationError(
            f"{entry.target} refused {entry.key}: {reason}",
            type="DeliveryRefused",
            non_retryable=True,
        )

    def _taken(self, message: Outgoing, receipts: list[DeliveryReceipt]) -> DeliveryReceipt:
        """Write the workflow's timeline step for a message that was taken."""
        receipt, step = self.sent(message, receipts)
        if step is not None:
            self.store.record_steps(RecordStepInput(steps=[step]))
        return receipt

    @staticmethod
    def sent(
        message: Outgoing, receipts: list[DeliveryReceipt]
    ) -> tuple[DeliveryReceipt, StepRecord | None]:
        """The receipt of a message taken, and the timeline step that says where it went."""
        note = "；".join(f"{r.key} → {r.target} ({r.channel}, {r.status})" for r in receipts)
        at = activity.info().current_attempt_scheduled_time if activity.in_activity() else None
        at = at or datetime.now(UTC)
        step = None
        if message.step_id:
            step = StepRecord(
                id=message.step_id,
                incident_id=message.incident_id,
                at=at,
                loop=message.loop,
                step="push",
                action="sent",
                actor="system",
                note=note,
            )
        return receipts[0].model_copy(update={"note": note, "at": at}), step

    # --- the rows a message makes -----------------------------------------------------------

    def entries(self, message: Outgoing) -> list[OutboxEntry]:
        if isinstance(message, EmergencyNotice):
            return [
                OutboxEntry(
                    key=message.key,
                    target="emergency",
                    kind="emergency_notice",
                    incident_id=message.incident_id,
                    payload={
                        "unit_code": message.unit_code,
                        "unit_name": message.unit_name,
                        "reason": message.reason,
                        **message.payload,
                    },
                )
            ]
        if isinstance(message, ReplyInput):
            caller = self.store.caller(message.incident_id)
            if caller is None:
                raise ApplicationError(
                    f"no record of incident {message.incident_id}: cannot find the caller's number",
                    non_retryable=True,
                )
            sms = OutboxEntry(
                key=message.key,
                target="sms",
                kind="reply",
                incident_id=message.incident_id,
                payload={"phone": caller[1], "message": message.message},
            )
            copy = [self.entries(message.police_copy)] if message.police_copy else []
            return [sms, *[e for group in copy for e in group]]
        return [
            OutboxEntry(
                key=message.key,
                target=message.target.value,
                kind=message.kind,
                incident_id=message.incident_id,
                payload=message.payload,
            )
        ]

    def for_the_outbox(self, message: Outgoing) -> list[OutboxEntry] | None:
        """The rows a message makes, when its targets all read the outbox: the record write
        puts them there with its steps. None when one has an HTTP endpoint: an activity posts
        that message."""
        entries = self.entries(message)
        if any(self.config.endpoints.get(e.target) for e in entries):
            return None
        return entries

    # --- the activities ---------------------------------------------------------------------

    @activity.defn
    def push_to_platform(self, input: PushInput) -> DeliveryReceipt:
        return self._taken(input, [self._deliver(e) for e in self.entries(input)])

    @activity.defn
    def notify_emergency_unit(self, input: EmergencyNotice) -> DeliveryReceipt:
        return self._taken(input, [self._deliver(e) for e in self.entries(input)])

    @activity.defn
    def reply_to_citizen(self, input: ReplyInput) -> DeliveryReceipt:
        """The reply to the citizen and, when police are concerned, its copy to police."""
        return self._taken(input, [self._deliver(e) for e in self.entries(input)])
