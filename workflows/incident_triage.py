"""The linkage desk's triage review (分诊复核): when triage is unsure, or disagrees with the
direction the sending platform pushed, the desk confirms or overrides it (改判) before the push
goes on; not decided in time, a possible danger stays with police.

The desk's decision is an update: its validator refuses what does not fit the stage or the party,
and past triage only the catalogue item can change. It answers once the incident has moved on.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.triage import OverrideInput, TriageActivities
    from linkage.domain.actions import TriageDecisionAction
    from linkage.domain.models import STAGE_LABELS, Role, Stage

from workflows.base import RECORD_TIMEOUT, refuse, require_role
from workflows.contracts import IncidentState, TriageOverride


class TriageReview:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    async def _triage_review(self) -> bool:
        """The desk decides when triage is unsure or disagrees with the push; True when the
        push goes on to the receiving platform (alone or jointly)."""
        triage = self.triage
        agrees = triage.direction in (self.receiver.value, "both")
        if agrees and not triage.needs_review:
            return True
        disagree = f"分诊方向 {triage.direction} 与推送方向 {self.receiver.value} 不一致"
        why = "；".join([*triage.review_reasons, *([] if agrees else [disagree])])
        next_stage = self.stage  # where the push stands once the desk has decided
        self._stage(Stage.triage_review, f"对接联动专席复核: {why}")
        self.arm("triage_review")
        await self.run_until(lambda: self.triage_decided)
        self.clear_deadline("triage_review")
        self.stage = next_stage  # the next stage records itself
        return self.triage.direction in (self.receiver.value, "both")

    async def triage_review_missed(self) -> None:
        """Not decided in time: a possible danger stays with (or goes to) police; anything
        else goes on as the sending platform pushed it, and the receiver still reviews."""
        if self.triage_decided:
            return
        fallback = "police" if self.triage.safety else self.receiver.value
        self.triage = self.triage.model_copy(update={"direction": fallback})
        self.triage_decided = True
        self.mark_overdue()
        why = (
            "存在安全风险，由 110 处置" if self.triage.safety else "按推送方意见流转，由接收方审核"
        )
        self.record("triage", "expired", note=f"分诊复核超时: {why}")

    @workflow.update
    async def decide_triage(self, action: TriageDecisionAction) -> IncidentState:
        """The linkage desk decides or overrides triage (改判), recorded with who and why."""
        await self._opened()
        self.validate_decide_triage(action)
        before = self.triage
        decided = await workflow.execute_local_activity_method(
            TriageActivities.override,
            OverrideInput(
                incident_id=self.incident_id,
                triage=before,
                direction=action.direction,
                subcategory=action.subcategory,
                township=self.report.location.township,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        self.validate_decide_triage(action)  # nothing else decided it meanwhile
        self.triage = decided
        self.triage_decided = True
        changed = decided.direction != before.direction or decided.subcategory != before.subcategory
        if changed:
            self.triage_override = TriageOverride(
                actor=str(action.actor),
                reason=action.reason,
                direction_before=before.direction,
                subcategory_before=before.subcategory.code if before.subcategory else "",
            )
            note = (
                f"改判: {before.direction} → {decided.direction}, "
                f"{before.subcategory or '未分类'} → {decided.subcategory or '未分类'}: "
                f"{action.reason}"
            )
        else:
            note = f"确认分诊结果 ({self.triage_note()}): {action.reason}"
        self._triaged()
        self.record("triage", "override" if changed else "confirm", action.actor, note)
        await self.settled()
        return self.answer()

    @decide_triage.validator
    def validate_decide_triage(self, action: TriageDecisionAction) -> None:
        require_role(action.actor, Role.linkage_desk)
        self._not_ended()
        if not self.opened or (self.stage is Stage.triage_review and not self.triage_decided):
            return  # the full decision: direction and item
        current = self.triage.direction if self.triage else ""
        if action.direction != current:
            refuse(
                f"direction: the incident is past triage ({STAGE_LABELS[self.stage]}), so "
                f"the direction stays {current}; dispute or negotiate to change who handles it"
            )
        if not action.subcategory:
            refuse("subcategory: past triage only the catalogue item can change; name it")
