"""HotlineLoop: the 12345 seven-step loop (受理 → 派遣 → 处置 → 反馈 → 回复 → 结案 → 回访).

A child of DivertedIncident. The command centre and the handling unit act through updates; each
validator refuses an action that does not fit the step or the party before anything changes, and
each update answers once the loop has acted on it. The command centre's actions live in
hotline_centre, the unit's in hotline_unit; the steps, their deadlines and the state here.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import Action, ExtendAction
    from linkage.domain.models import Role, Satisfaction
    from linkage.domain.record_inputs import WorkOrderRecord
    from linkage.domain.search_attributes import UNITS

from workflows.base import Deadline, LinkageWorkflow, hours, refuse, require_role
from workflows.hotline_centre import CentreActions
from workflows.hotline_unit import UnitActions
from workflows.loop_contracts import (
    HOTLINE_STEP_LABELS,
    RULE_TRIGGERED,
    HotlineLoopInput,
    HotlineLoopResult,
    HotlineLoopState,
    HotlineStep,
    RuleEvent,
)

STEP_LABELS = HOTLINE_STEP_LABELS

# step → (deadline name, label, hours from the table)
STEP_DEADLINES = {
    HotlineStep.dispatch: ("dispatch", "派遣时限", lambda lim, urgency: lim.dispatch_hours),
    HotlineStep.sign: ("sign", "签收时限", lambda lim, urgency: lim.sign_hours),
    HotlineStep.handle: ("handle", "处置时限", lambda lim, urgency: lim.handle_hours[urgency]),
    HotlineStep.reply: ("reply", "回复时限", lambda lim, urgency: lim.reply_hours),
    HotlineStep.close: ("close", "结案时限", lambda lim, urgency: lim.close_hours),
    HotlineStep.revisit: ("revisit", "回访时限", lambda lim, urgency: lim.revisit_hours),
}


@workflow.defn
class HotlineLoop(CentreActions, UnitActions, LinkageWorkflow):
    loop = "hotline"

    @workflow.init
    def __init__(self, input: HotlineLoopInput) -> None:
        self.input = input
        self.limits = input.limits
        self._init_base(input.incident_id, input.supervision)
        self.started_with(UNITS)  # triage's unit (incident_handling): no upsert for it
        self.step = HotlineStep.accept
        self.unit = ""
        self.unit_name = ""  # the register's name of the unit, for people to read
        self.returns = 0
        self.rejections = 0  # feedback rejected (驳回), bounded by the table
        self.extensions = 0  # extensions asked for, likewise
        self.police_calls = 0  # 派警联动 from this order, likewise
        self.replies = 0  # each reply is a message of its own, even after a rejected close
        self.returned_by: list[str] = []
        self.reopens = 0
        self.pending_extension: ExtendAction | None = None
        self.feedback = ""
        self.reply_message = ""
        self.revisit_attempts = 0
        self.satisfaction: Satisfaction | None = None
        self.completed = False
        self.sign_late = False
        self.handle_missed = False
        self._enter(HotlineStep.dispatch)  # accepted on start: the centre can dispatch at once

    @workflow.run
    async def run(self, input: HotlineLoopInput) -> HotlineLoopResult:
        self.record("accept", "accept", note=f"工单 {input.order_no} 受理")
        await self.run_until(lambda: self.step is HotlineStep.done)
        await self.close_out()
        return HotlineLoopResult(
            order_no=input.order_no,
            unit=self.unit,
            completed=self.completed,
            on_time=self.completed and not (self.sign_late or self.handle_missed),
            satisfaction=self.satisfaction or Satisfaction.not_revisited,
            returns=self.returns,
            reopens=self.reopens,
            feedback=self.feedback,
            timeline=self.timeline,
        )

    # --- steps and their deadlines --------------------------------------------------------

    def _enter(self, step: HotlineStep) -> None:
        """Move to a step: its deadline replaces the previous step's."""
        for name in list(self.deadlines):
            self.clear_deadline(name)
        self.step = step
        if step in STEP_DEADLINES:
            name, label, limit = STEP_DEADLINES[step]
            remind = [hours(h) for h in self.limits.remind_before_hours]
            self.set_deadline(
                name,
                label,
                self.span(limit(self.limits, self.input.urgency)),
                remind_before=remind if step is HotlineStep.handle else None,
            )
        self.changed()

    async def on_missed(self, deadline: Deadline) -> bool:
        if deadline.name == "sign":
            # Past the signing limit the order counts as signed, late, against the unit.
            self.sign_late = True
            self.mark_overdue()
            self._enter(HotlineStep.handle)
            self.record("sign", "auto_sign", note=f"{self.unit} 超时未签收，视为签收并记录")
            return False
        if deadline.name == "revisit":
            self.satisfaction = Satisfaction.not_revisited
            self._enter(HotlineStep.done)
            self.record("revisit", "not_revisited", note="回访时限已过，按未回访结案")
            return False
        if deadline.name == "handle":
            self.handle_missed = True
        return True

    def waiting_on(self, deadline: str) -> list[str]:
        """The unit owes signing and handling; the command centre every other step."""
        if deadline in ("sign", "handle"):
            return [self.unit] if self.unit else []
        return ["hotline.command"]

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self.tell_incident(
            RULE_TRIGGERED,
            RuleEvent(
                rule="supervision_exhausted",
                units=[self.unit] if self.unit else [],
                note=f"工单 {self.input.order_no} {deadline.label}",
            ),
        )

    def snapshot(self) -> dict:
        return {
            "order": WorkOrderRecord(
                order_no=self.input.order_no,
                incident_id=self.incident_id,
                unit=self.unit,
                step=self.step.value,
                returns=self.returns,
                reopens=self.reopens,
                overdue=self.overdue,
                completed=self.completed,
                on_time=(not (self.sign_late or self.handle_missed)) if self.completed else None,
                satisfaction=self.satisfaction.value if self.satisfaction else "",
            )
        }

    def details(self) -> str:
        unit = f" · 承办 {self.unit_name or self.unit}" if self.unit else ""
        late = " · 已超时 overdue" if self.overdue else ""
        return (
            f"12345 工单 {self.input.order_no}: {STEP_LABELS[self.step]} "
            f"({self.step.value}){unit}{late}"
        )

    # --- checks shared by the validators --------------------------------------------------

    def _at(self, *steps: HotlineStep) -> None:
        if self.step not in steps:
            wanted = " or ".join(f"{STEP_LABELS[s]} ({s.value})" for s in steps)
            refuse(
                f"order {self.input.order_no} is at {STEP_LABELS[self.step]} "
                f"({self.step.value}); this action needs {wanted}"
            )

    def _own_unit(self, action: Action) -> None:
        require_role(action.actor, Role.member_unit)
        if not action.actor.acts_for(self.unit):
            refuse(
                f"order {self.input.order_no} is dispatched to {self.unit or 'no unit yet'}, "
                f"not to {action.actor.unit}"
            )

    # --- state ----------------------------------------------------------------------------

    @property
    def final_dispatch(self) -> bool:
        return self.returns >= self.limits.max_returns

    @workflow.query
    def state(self) -> HotlineLoopState:
        return HotlineLoopState(
            order_no=self.input.order_no,
            step=self.step,
            unit=self.unit,
            # after a return the centre names the unit: never suggest the one that returned it
            suggested_unit="" if self.returns else self.input.suggested_unit,
            returns=self.returns,
            final_dispatch=self.final_dispatch,
            reopens=self.reopens,
            pending_extension=self.pending_extension,
            feedback=self.feedback,
            reply=self.reply_message,
            revisit_attempts=self.revisit_attempts,
            satisfaction=self.satisfaction,
            sign_late=self.sign_late,
            handle_missed=self.handle_missed,
            overdue=self.overdue,
            told_incident=self.told_incident,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
