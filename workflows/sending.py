"""Sending (双推送, replies to citizens, emergency notices) beside the run loop.

A message is queued and goes out with the next record write: where its target reads the outbox
(no endpoint configured), the write puts it there, with its timeline step, at no cost of its
own in the history. Where the target has an HTTP endpoint, a gateway activity posts it in the
background, retrying while the endpoint is down, so deadlines are handled meanwhile; an answer
that can never succeed, or an outage past GATEWAY_GIVE_UP, fails it visibly and calls
`failed`. Messages in one chain (the pushes between the platforms, the replies, each emergency
unit's notices) go out in the order they were made.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.contracts import slow_queue

with workflow.unsafe.imports_passed_through():
    from activities.gateway import GatewayActivities
    from linkage.domain.models import TimelineEntry
    from linkage.domain.record_inputs import DeliveryReceipt, EmergencyNotice, ReplyInput
    from workflows.plain import Failed, Outgoing, Queued, Then

GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["DeliveryRefused"],
)
GATEWAY_GIVE_UP = timedelta(days=3)  # an endpoint down this long: failed, and a person told


def _chain(message: Outgoing) -> str:
    if isinstance(message, EmergencyNotice):
        return f"emergency:{message.unit_code}"
    return "sms" if isinstance(message, ReplyInput) else "platforms"


class Sending:
    """Mixed into LinkageWorkflow."""

    def _init_sending(self) -> None:
        self._queued: list[Queued] = []
        self._sent = 0
        self._sending: list[asyncio.Task] = []
        self._chains: dict[str, asyncio.Task] = {}

    def send(self, message: Outgoing, summary: str, then: Then = None, failed: Failed = None):
        """Queue a message; `then` runs once it is taken, `failed` if it never can be."""
        self._sent += 1
        message = message.model_copy(
            update={
                "step_id": f"{workflow.info().workflow_id}#send-{self._sent}",
                "loop": self.loop,
            }
        )
        self._queued.append(Queued(message, summary, then, failed))
        self.changed()

    def all_sent(self) -> bool:
        return not self._queued and all(t.done() for t in self._sending)

    def _after_write(self, queued: list[Queued], receipts: list[DeliveryReceipt]) -> None:
        """The write put outbox messages in place; the others are posted in the background."""
        for item, receipt in zip(queued, receipts, strict=True):
            chain = _chain(item.message)
            if receipt.status == "queued":  # its target has an endpoint: post it
                task = asyncio.create_task(self._post(item, self._chains.get(chain)))
                self._sending.append(task)
                self._chains[chain] = task
            else:
                self._taken(item, receipt)

    def _taken(self, item: Queued, receipt: DeliveryReceipt) -> None:
        at = receipt.at or workflow.now()
        self.timeline.append(
            TimelineEntry(at=at, loop=self.loop, step="push", action="sent", note=receipt.note)
        )
        self.changed()
        if item.then is not None:
            self._sending.append(asyncio.create_task(item.then(receipt)))

    async def _post(self, item: Queued, earlier: asyncio.Task | None) -> None:
        if earlier is not None:
            await workflow.wait_condition(earlier.done)
        message = item.message
        method = {
            ReplyInput: GatewayActivities.reply_to_citizen,
            EmergencyNotice: GatewayActivities.notify_emergency_unit,
        }.get(type(message), GatewayActivities.push_to_platform)
        try:
            receipt: DeliveryReceipt = await workflow.execute_activity_method(
                method,
                message,
                task_queue=slow_queue(workflow.info().task_queue),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=GATEWAY_GIVE_UP,
                retry_policy=GATEWAY_RETRY,
                summary=item.summary,
            )
        except ActivityError as err:
            reason = str(err.cause.message if err.cause else err)  # type: ignore[union-attr]
            self.record("push", "failed", note=f"{message.key} 发送失败: {reason}")
            self.mark_overdue()
            self.changed()
            if item.failed is not None:
                await item.failed(reason)
            return
        self._taken(item, receipt)
