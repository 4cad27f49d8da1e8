"""The incident's review stages between the platforms: the bureau's sending review (推送审核)
with send-back and resubmission, the receiver's review (接收审核), and negotiation of a dispute
(异议协商; unsettled in time, 首接平台先行受理). The linkage desk's triage review (分诊复核),
which comes before them, lives in incident_triage.

Each action is an update: its validator refuses what does not fit the stage or the party, and
the handler takes the decision before it awaits anything, so that of two parties deciding at
the same instant exactly one is recorded. It answers once the incident has moved on.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import ReceiveAction, ResubmitAction, ReviewAction, SettleAction
    from linkage.domain.models import Owner, Platform, Role, Stage

from workflows.base import refuse, require_role
from workflows.contracts import IncidentState

SIDE_ROLES = {
    Platform.police: (Role.police_bureau, Role.police_unit),
    Platform.hotline: (Role.command_center, Role.member_unit),
}
SIDE_OF = {Role.police_bureau: Platform.police, Role.command_center: Platform.hotline}
SETTLE_BY_BOTH = "settle-by-both-sides"  # workflow.patched: histories where one side settled
REVIEWER = {Platform.police: Role.police_bureau, Platform.hotline: Role.command_center}


class ReviewStages:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    # --- sending review (推送审核) and resubmission -------------------------------------------

    async def _sending_review(self) -> bool:
        """The bureau reviews a station's push; sent back, the station revises or withdraws."""
        while True:
            self._stage(Stage.sending_review, f"推送原因: {self.divert_reason}")
            self.arm("sending_review")
            await self.run_until(lambda: self.review is not None)
            self.clear_deadline("sending_review")
            if self.review.approve:
                return True
            self._stage(Stage.sent_back, "退回补正")
            self.arm("resubmit")
            await self.run_until(lambda: self.resubmit_action is not None)
            self.clear_deadline("resubmit")
            if self.resubmit_action.withdraw:
                return False
            self.review, self.resubmit_action = None, None

    async def resubmit_missed(self) -> None:
        if self.resubmit_action is None:
            self.record("sent_back", "expired", note="补正时限已过，案件由原平台保留处置")
            self.resubmit_action = ResubmitAction(
                actor={"role": REVIEWER[self.origin], "unit": "system"}, withdraw=True
            )

    @workflow.update
    async def review_push(self, action: ReviewAction) -> IncidentState:
        await self._opened()
        self.validate_review_push(action)
        self.review = action
        if action.approve:
            self.record("sending_review", "approve", action.actor, action.note or "审核通过")
        else:
            self.record("sending_review", "send_back", action.actor, f"退回: {action.reason}")
        await self.settled()
        return self.answer()

    @review_push.validator
    def validate_review_push(self, action: ReviewAction) -> None:
        self._at(Stage.sending_review)
        require_role(action.actor, REVIEWER[self.origin])
        if self.review is not None:
            refuse(
                f"this push has already been reviewed "
                f"({'approved' if self.review.approve else 'sent back'})"
            )
        if not action.approve and not action.reason:
            refuse("reason: sending a push back needs a reason")

    @workflow.update
    async def resubmit(self, action: ResubmitAction) -> IncidentState:
        await self._opened()
        self.validate_resubmit(action)
        self.resubmit_action = action
        if not action.withdraw:
            self.resubmits += 1
            self.divert_reason = action.divert_reason
        note = "撤回推送" if action.withdraw else f"补正后重新推送: {action.divert_reason}"
        self.record("sent_back", "withdraw" if action.withdraw else "resubmit", action.actor, note)
        await self.settled()
        return self.answer()

    @resubmit.validator
    def validate_resubmit(self, action: ResubmitAction) -> None:
        self._at(Stage.sent_back)
        require_role(action.actor, *SIDE_ROLES[self.origin])
        if self.resubmit_action is not None:
            refuse("the sent-back push has already been resubmitted or withdrawn")
        if not action.withdraw and len(action.divert_reason) < 2:
            refuse("divert_reason: a resubmitted push needs its revised reason (推送原因)")
        if not action.withdraw and self.resubmits >= self.limits.review.max_resubmits:
            refuse(
                f"the push has been sent back and resubmitted {self.resubmits} times, the "
                f"limit: withdraw it, or take it up with the bureau"
            )

    # --- receiving review (接收审核) and negotiation (异议协商) --------------------------------

    async def receiving_review_missed(self) -> None:
        if self.received is None:
            self.received = ReceiveAction(
                actor={"role": REVIEWER[self.receiver], "unit": "system"}, accept=True
            )
            self.owner = self._receiver_owns()
            self.mark_overdue()
            self.record("receiving_review", "auto_accept", note="接收审核超时，视为接收并记录")

    async def negotiation_missed(self) -> None:
        if self.owner is None:
            self.owner = Owner(self.origin.value)
            self.first_receiver_handles = True
            self.record(
                "negotiation",
                "first_receiver_handles",
                note=f"协商未果，由首接平台{self.origin.label}先行受理，并督促承办单位反馈",
            )

    def _receiver_owns(self) -> Owner:
        """An accepted push: the receiver handles it, with the sender too when both are needed
        (the platform said so, or triage found a joint matter)."""
        both = self.joint or (self.triage is not None and self.triage.direction == "both")
        return Owner.joint if both else Owner(self.receiver.value)

    @workflow.update
    async def receive(self, action: ReceiveAction) -> IncidentState:
        await self._opened()
        self.validate_receive(action)
        self.received = action
        if action.accept:
            self.owner = self._receiver_owns()
            self.record("receiving_review", "accept", action.actor, action.note or "接收")
        else:
            self.dispute_reason = action.reason
            self.record("receiving_review", "dispute", action.actor, f"异议: {action.reason}")
        await self.settled()
        return self.answer()

    @receive.validator
    def validate_receive(self, action: ReceiveAction) -> None:
        self._at(Stage.receiving_review)
        require_role(action.actor, REVIEWER[self.receiver])
        if self.received is not None:
            refuse(
                f"the push has already been {'accepted' if self.received.accept else 'disputed'}"
            )
        if not action.accept and not action.reason:
            refuse("reason: a dispute needs a reason")

    @workflow.update
    async def settle(self, action: SettleAction) -> IncidentState:
        """Both platforms settle a dispute (协商确定): one side's word is a proposal, which takes
        effect when the other side proposes the same owner; an arbiter above both decides."""
        await self._opened()
        self.validate_settle(action)
        extra = f": {action.note}" if action.note else ""
        if not workflow.patched(SETTLE_BY_BOTH):  # a history from before: one word settled it
            self.owner = action.owner
            self.record(
                "negotiation", "settle", action.actor, f"协商确定责任方 {action.owner.value}"
            )
        elif self._arbiter(action):
            self.owner = action.owner
            self.record(
                "negotiation", "decide", action.actor, f"裁定责任方 {action.owner.value}{extra}"
            )
        else:
            side = SIDE_OF[action.actor.role]
            self.proposals[side.value] = action.owner.value
            self.proposal_count += 1
            other = self.proposals.get(side.other.value)
            if other == action.owner.value:
                self.owner = action.owner
                note = f"双方协商一致，责任方 {action.owner.value}{extra}"
                self.record("negotiation", "settle", action.actor, note)
            else:
                waiting = (
                    f"；{side.other.label} 提议 {other}" if other else f"；待{side.other.label}确认"
                )
                self.changed()
                self.record(
                    "negotiation",
                    "propose",
                    action.actor,
                    f"{side.label} 提议责任方 {action.owner.value}{waiting}{extra}",
                )
        await self.settled()
        return self.answer()

    @settle.validator
    def validate_settle(self, action: SettleAction) -> None:
        self._at(Stage.negotiation)
        if self.owner is not None:
            refuse(f"the negotiation is settled already (owner {self.owner.value})")
        if self._arbiter(action):
            return
        require_role(action.actor, Role.police_bureau, Role.command_center)
        if self.proposal_count >= self.limits.review.max_proposals:
            refuse(
                f"{self.proposal_count} owners have been proposed, the limit: an arbiter "
                f"(对接联动专席) decides, or the first receiver handles it when the time is up"
            )
        side = SIDE_OF[action.actor.role].value
        if self.proposals.get(side) == action.owner.value:
            refuse(
                f"{side} has proposed owner {action.owner.value} already; the other side must "
                f"agree (or an arbiter decide)"
            )

    def _arbiter(self, action: SettleAction) -> bool:
        arbiters = self.limits.review.negotiation_arbiters if self.limits else []
        return any(action.actor.acts_for(unit) for unit in arbiters)
