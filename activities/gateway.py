"""Gateway activities: pushes to the other platform (双推送) and replies to citizens.

Every message is first written to the outbox under its idempotency key, so nothing is dropped
silently. With no endpoint configured for the target, the message waits there for the other
platform (or the SMS gateway) to read it. With an endpoint, it is POSTed with the key in an
Idempotency-Key header; a failure raises, Temporal retries, and the row stays pending and
visible in `linkage outbox` until it goes through.
"""

from __future__ import annotations

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from linkage.config import GatewayConfig
from linkage.logs import get_logger
from linkage.records import (
    DeliveryReceipt,
    EmergencyNotice,
    OutboxEntry,
    PushInput,
    ReplyInput,
)
from linkage.store import Incident, Store


class GatewayActivities:
    def __init__(self, store: Store, config: GatewayConfig) -> None:
        self.store = store
        self.config = config

    def _deliver(self, entry: OutboxEntry) -> DeliveryReceipt:
        row = self.store.enqueue(entry)
        endpoint = self.config.endpoints.get(entry.target, "")
        log = get_logger(incident_id=entry.incident_id, key=entry.key, target=entry.target)
        if not endpoint:
            log.info("message in outbox", kind=entry.kind)
            return DeliveryReceipt(
                key=entry.key, target=entry.target, channel="outbox", status=row.status
            )
        if row.status == "delivered":
            return DeliveryReceipt(
                key=entry.key, target=entry.target, channel="http", status="delivered"
            )
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
        except httpx.HTTPError as err:
            self.store.mark_attempt(entry.key, f"{type(err).__name__}: {err}")
            log.warning("delivery failed, will retry", error=str(err))
            raise
        self.store.mark_attempt(entry.key, None)
        log.info("message delivered", kind=entry.kind)
        return DeliveryReceipt(
            key=entry.key, target=entry.target, channel="http", status="delivered"
        )

    @activity.defn
    def push_to_platform(self, input: PushInput) -> DeliveryReceipt:
        return self._deliver(
            OutboxEntry(
                key=input.key,
                target=input.target.value,
                kind=input.kind,
                incident_id=input.incident_id,
                payload=input.payload,
            )
        )

    @activity.defn
    def notify_emergency_unit(self, input: EmergencyNotice) -> DeliveryReceipt:
        return self._deliver(
            OutboxEntry(
                key=input.key,
                target="emergency",
                kind="emergency_notice",
                incident_id=input.incident_id,
                payload={
                    "unit_code": input.unit_code,
                    "unit_name": input.unit_name,
                    "reason": input.reason,
                    **input.payload,
                },
            )
        )

    @activity.defn
    def reply_to_citizen(self, input: ReplyInput) -> DeliveryReceipt:
        incident = self.store.get(Incident, input.incident_id)
        if incident is None:
            raise ApplicationError(
                f"no record of incident {input.incident_id}: cannot find the caller's number",
                non_retryable=True,
            )
        return self._deliver(
            OutboxEntry(
                key=input.key,
                target="sms",
                kind="reply",
                incident_id=input.incident_id,
                payload={"phone": incident.caller_phone, "message": input.message},
            )
        )
