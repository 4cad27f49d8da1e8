"""The handling unit's side of the 12345 loop: sign (签收) or return (退单) the order, ask for
more time (延期), call police to the scene (派警联动), and feed back (办结反馈).

Each action is an update whose validator checks the step and that the order is dispatched to
the acting unit; it answers once the loop has acted on it.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import (
        ExtendAction,
        FeedbackAction,
        PoliceLinkageAction,
        ReturnAction,
        SignAction,
    )

from workflows.base import refuse
from workflows.loop_contracts import (
    POLICE_LINKAGE,
    RULE_TRIGGERED,
    HotlineLoopState,
    HotlineStep,
    PoliceLinkageCall,
    RuleEvent,
)


class UnitActions:
    """Mixed into HotlineLoop; the attributes it uses are set in its __init__."""

    @workflow.update
    async def sign(self, action: SignAction) -> HotlineLoopState:
        self.validate_sign(action)
        if self.past("sign"):
            self.sign_late = True
            self.mark_overdue()
        self._enter(HotlineStep.handle)
        self.record("sign", "sign", action.actor, action.note or "签收")
        await self.settled()
        return self.answer()

    @sign.validator
    def validate_sign(self, action: SignAction) -> None:
        self._at(HotlineStep.sign)
        self._own_unit(action)

    @workflow.update(name="return")
    async def return_order(self, action: ReturnAction) -> HotlineLoopState:
        self.validate_return_order(action)
        self.returns += 1
        unit, self.unit = self.unit, ""
        name = self.unit_name or unit
        self.returned_by.append(unit)
        self._enter(HotlineStep.dispatch)
        if self.final_dispatch:
            await self.tell_incident(
                RULE_TRIGGERED,
                RuleEvent(
                    rule="return_limit",
                    units=self.returned_by,
                    note=f"工单 {self.input.order_no} 已退单 {self.returns} 次",
                ),
            )
        self.record(
            "sign", "return", action.actor, f"{name} 退单 (第 {self.returns} 次): {action.reason}"
        )
        await self.settled()
        return self.answer()

    @return_order.validator
    def validate_return_order(self, action: ReturnAction) -> None:
        self._at(HotlineStep.sign)
        self._own_unit(action)
        if self.final_dispatch:
            refuse(
                f"order {self.input.order_no} has been returned {self.returns} times, the "
                f"limit; the centre's dispatch is final and {self.unit} must handle it"
            )

    @workflow.update
    async def call_police(self, action: PoliceLinkageAction) -> HotlineLoopState:
        """派警联动: the dispute escalates or a crime appears; police join, this loop goes on."""
        self.validate_call_police(action)
        self.police_calls += 1
        self.record("handle", "police_linkage", action.actor, f"派警联动: {action.reason}")
        await self.tell_incident(
            POLICE_LINKAGE, PoliceLinkageCall(unit=self.unit, reason=action.reason)
        )
        await self.settled()
        return self.answer()

    @call_police.validator
    def validate_call_police(self, action: PoliceLinkageAction) -> None:
        self._at(HotlineStep.handle)
        self._own_unit(action)
        if self.police_calls >= self.limits.max_police_calls:
            refuse(f"police have been called {self.police_calls} times for this order, the limit")

    @workflow.update
    async def extend(self, action: ExtendAction) -> HotlineLoopState:
        self.validate_extend(action)
        self.extensions += 1
        self.pending_extension = action
        self.changed()
        self.record(
            "handle",
            "extension_requested",
            action.actor,
            f"申请延期 {action.hours:g} 小时: {action.reason}",
        )
        await self.settled()
        return self.answer()

    @extend.validator
    def validate_extend(self, action: ExtendAction) -> None:
        self._at(HotlineStep.handle)
        self._own_unit(action)
        if self.pending_extension is not None:
            refuse("an extension request is already waiting for the centre's decision")
        if action.hours > self.limits.max_extension_hours:
            refuse(f"hours: at most {self.limits.max_extension_hours:g} hours per request")
        if self.extensions >= self.limits.max_extensions:
            refuse(
                f"order {self.input.order_no} has asked for {self.extensions} extensions, the "
                f"limit: feed back, or ask the centre to blow the whistle"
            )

    @workflow.update
    async def feedback(self, action: FeedbackAction) -> HotlineLoopState:
        self.validate_feedback(action)
        if self.past("handle"):
            self.handle_missed = True
            self.mark_overdue()
        self.feedback = action.result
        self.pending_extension = None
        self._enter(HotlineStep.reply)
        self.record("feedback", "feedback", action.actor, action.result)
        await self.settled()
        return self.answer()

    @feedback.validator
    def validate_feedback(self, action: FeedbackAction) -> None:
        self._at(HotlineStep.handle)
        self._own_unit(action)
