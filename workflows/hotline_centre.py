"""The command centre's side of the 12345 loop: dispatch (派遣) the order, decide the unit's
request for more time (延期审批), reply to the citizen (回复), close the order or reject its
feedback (结案 / 驳回), and revisit (回访).

Each action is an update whose validator checks the step and that the actor is the command
centre; it answers once the loop has acted on it.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import (
        CloseAction,
        DispatchAction,
        ExtensionDecision,
        ReplyAction,
        RevisitAction,
    )
    from linkage.domain.models import Platform, RevisitOutcome, Role, Satisfaction
    from linkage.domain.record_inputs import PushInput, ReplyInput

from workflows.base import hours, refuse, require_role
from workflows.deadlines import local_time
from workflows.loop_contracts import HotlineLoopState, HotlineStep


class CentreActions:
    """Mixed into HotlineLoop; the attributes it uses are set in its __init__."""

    @workflow.update
    async def dispatch(self, action: DispatchAction) -> HotlineLoopState:
        self.validate_dispatch(action)
        self.unit = action.unit or self.input.suggested_unit
        self.unit_name = (
            action.unit_name if action.unit else self.input.suggested_unit_name
        ) or self.unit
        self.takes_part(self.unit)
        self._enter(HotlineStep.sign)
        final = " (退单已达上限，指定承办)" if self.final_dispatch else ""
        self.record(
            "dispatch",
            "dispatch",
            action.actor,
            f"派遣至 {self.unit_name}{final}" + (f": {action.note}" if action.note else ""),
        )
        await self.settled()
        return self.answer()

    @dispatch.validator
    def validate_dispatch(self, action: DispatchAction) -> None:
        self._at(HotlineStep.dispatch)
        require_role(action.actor, Role.command_center)
        if not action.unit and (self.returns or not self.input.suggested_unit):
            refuse(
                "unit: name the unit to dispatch to"
                + ("; the order was returned" if self.returns else "; triage suggested none")
            )
        if action.unit and len(action.unit) < 2:
            refuse("unit: a unit name has at least 2 characters")

    @workflow.update
    async def decide_extension(self, action: ExtensionDecision) -> HotlineLoopState:
        self.validate_decide_extension(action)
        request = self.pending_extension
        assert request is not None
        self.pending_extension = None
        if action.approve:
            deadline = self.extend_deadline("handle", hours(request.hours))
            new = local_time(deadline.at)
            note = f"批准延期 {request.hours:g} 小时，新时限 {new}"
        else:
            self.changed()
            note = f"不予延期: {action.note or '理由不充分'}"
        self.record(
            "handle",
            "extension_approved" if action.approve else "extension_refused",
            action.actor,
            note,
        )
        await self.settled()
        return self.answer()

    @decide_extension.validator
    def validate_decide_extension(self, action: ExtensionDecision) -> None:
        require_role(action.actor, Role.command_center)
        self._at(HotlineStep.handle)
        if self.pending_extension is None:
            refuse(f"order {self.input.order_no} has no extension request to decide")

    @workflow.update
    async def reply(self, action: ReplyAction) -> HotlineLoopState:
        self.validate_reply(action)
        self.reply_message = action.message
        self.replies += 1
        copy = None
        if self.input.notify_police:
            copy = PushInput(
                key=f"{self.input.order_no}:reply-police:{self.replies - 1}",
                target=Platform.police,
                kind="reply",
                incident_id=self.incident_id,
                payload={
                    "order_no": self.input.order_no,
                    "unit": self.unit,
                    "feedback": self.feedback,
                    "reply": action.message,
                },
            )
        self.send(
            ReplyInput(
                key=f"{self.input.order_no}:reply:{self.replies - 1}",
                incident_id=self.incident_id,
                message=action.message,
                police_copy=copy,
            ),
            summary=f"回复市民 reply {self.input.order_no}",
        )
        self._enter(HotlineStep.close)
        self.record("reply", "reply", action.actor, action.message)
        await self.settled()
        return self.answer()

    @reply.validator
    def validate_reply(self, action: ReplyAction) -> None:
        self._at(HotlineStep.reply)
        require_role(action.actor, Role.command_center)

    @workflow.update
    async def close(self, action: CloseAction) -> HotlineLoopState:
        self.validate_close(action)
        if action.accept:
            self.completed = True
            self._enter(HotlineStep.revisit)
            self.record("close", "close", action.actor, action.note or "结案")
        else:
            self.rejections += 1
            self.feedback = ""
            self._enter(HotlineStep.handle)
            self.record("close", "reject", action.actor, f"反馈驳回，重新处置: {action.reason}")
        await self.settled()
        return self.answer()

    @close.validator
    def validate_close(self, action: CloseAction) -> None:
        if action.accept:
            self._at(HotlineStep.close)
        else:  # feedback that does not hold is sent back before the citizen is told, or after
            self._at(HotlineStep.reply, HotlineStep.close)
        require_role(action.actor, Role.command_center)
        if not action.accept and not action.reason:
            refuse("rejecting feedback needs a reason")
        if not action.accept and self.rejections >= self.limits.max_rejections:
            refuse(
                f"order {self.input.order_no}'s feedback has been rejected {self.rejections} "
                f"times, the limit: close it, or blow the whistle (双哨联处)"
            )

    @workflow.update
    async def revisit(self, action: RevisitAction) -> HotlineLoopState:
        self.validate_revisit(action)
        outcome = action.outcome
        if outcome is RevisitOutcome.unreachable:
            self.revisit_attempts += 1
            note = f"回访未联系上 (第 {self.revisit_attempts} 次)"
            if self.revisit_attempts >= self.limits.revisit_attempts:
                self.satisfaction = Satisfaction.not_revisited
                self._enter(HotlineStep.done)
                note += "，按未回访结案"
            else:
                self.changed()
        elif outcome is RevisitOutcome.dissatisfied and self.reopens < self.limits.max_reopens:
            self.reopens += 1
            self.completed = False
            self.feedback = ""
            self._enter(HotlineStep.handle)
            note = f"不满意，重办 (第 {self.reopens} 次)"
        else:
            self.satisfaction = Satisfaction(outcome.value)
            self._enter(HotlineStep.done)
            note = {
                "satisfied": "满意",
                "basically_satisfied": "基本满意",
                "dissatisfied": "不满意 (重办次数已用完)",
            }[outcome.value]
        self.record(
            "revisit",
            outcome.value,
            action.actor,
            note + (f": {action.note}" if action.note else ""),
        )
        await self.settled()
        return self.answer()

    @revisit.validator
    def validate_revisit(self, action: RevisitAction) -> None:
        self._at(HotlineStep.revisit)
        require_role(action.actor, Role.command_center)
