"""PoliceLoop: the police closed loop (接警 → 指令 → 处置 → 反馈).

A child of DivertedIncident. 110 commands a unit with a deadline to arrive; the unit arrives,
handles and feeds back within the feedback limit. Missed deadlines are supervised and count
against the unit in the bureau's assessment.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import (
        Action,
        ArriveAction,
        CommandAction,
        PoliceFeedbackAction,
        PolicePushAction,
    )
    from linkage.domain.models import Role
    from linkage.domain.record_inputs import PoliceCaseRecord
    from linkage.domain.search_attributes import UNITS
    from linkage.domain.time_limits import by_urgency

from workflows.base import Deadline, LinkageWorkflow, hours, refuse, require_role
from workflows.loop_contracts import (
    POLICE_PUSH,
    POLICE_STEP_LABELS,
    RULE_TRIGGERED,
    PoliceLoopInput,
    PoliceLoopResult,
    PoliceLoopState,
    PolicePushCall,
    PoliceStep,
    RuleEvent,
)

MISSED_FLAG = {
    "command": "command_missed",
    "arrive": "arrive_missed",
    "feedback": "feedback_missed",
}


@workflow.defn
class PoliceLoop(LinkageWorkflow):
    loop = "police"

    @workflow.init
    def __init__(self, input: PoliceLoopInput) -> None:
        self.input = input
        self.limits = input.limits
        self._init_base(input.incident_id, input.supervision)
        self.started_with(UNITS)  # triage's unit (incident_handling): no upsert for it
        self.step = PoliceStep.command  # received on start: 110 can command at once
        command = by_urgency(self.limits.command_minutes, input.urgency)
        self.set_deadline("command", "指令时限", hours(command / 60))
        self.unit = ""
        self.unit_name = ""  # the register's name of the unit, for people to read
        self.arrived = False
        self.feedback = ""
        self.pushed = False
        self.command_missed = self.arrive_missed = self.feedback_missed = False

    @workflow.run
    async def run(self, input: PoliceLoopInput) -> PoliceLoopResult:
        self.record("receive", "receive", note=f"警单 {input.case_no} 接警")
        await self.run_until(lambda: self.step is PoliceStep.done)
        await self.close_out()
        return PoliceLoopResult(
            case_no=input.case_no,
            unit=self.unit,
            completed=True,
            on_time=self.on_time,
            feedback=self.feedback,
            timeline=self.timeline,
        )

    @property
    def on_time(self) -> bool:
        return not (self.command_missed or self.arrive_missed or self.feedback_missed)

    async def on_missed(self, deadline: Deadline) -> bool:
        setattr(self, MISSED_FLAG[deadline.name], True)
        return True

    def waiting_on(self, deadline: str) -> list[str]:
        """110's command centre owes the command; the commanded unit arrival and feedback."""
        if deadline == "command":
            return ["police.command"]
        return [self.unit] if self.unit else []

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self.tell_incident(
            RULE_TRIGGERED,
            RuleEvent(
                rule="supervision_exhausted",
                units=[self.unit] if self.unit else [],
                note=f"警单 {self.input.case_no} {deadline.label}",
            ),
        )

    def snapshot(self) -> dict:
        done = self.step is PoliceStep.done
        return {
            "case": PoliceCaseRecord(
                case_no=self.input.case_no,
                incident_id=self.incident_id,
                unit=self.unit,
                step=self.step.value,
                overdue=self.overdue,
                completed=done,
                on_time=self.on_time if done else None,
            )
        }

    def details(self) -> str:
        unit = f" · 处警 {self.unit_name or self.unit}" if self.unit else ""
        late = " · 已超时 overdue" if self.overdue else ""
        return (
            f"110 警单 {self.input.case_no}: {POLICE_STEP_LABELS[self.step]} "
            f"({self.step.value}){unit}{late}"
        )

    def _at(self, step: PoliceStep) -> None:
        if self.step is not step:
            refuse(
                f"case {self.input.case_no} is at {POLICE_STEP_LABELS[self.step]} "
                f"({self.step.value}); this action needs {POLICE_STEP_LABELS[step]} ({step.value})"
            )

    def _own_unit(self, action: Action) -> None:
        require_role(action.actor, Role.police_unit)
        if not action.actor.acts_for(self.unit):
            refuse(
                f"case {self.input.case_no} is commanded to {self.unit or 'no unit yet'}, "
                f"not to {action.actor.unit}"
            )

    def _late(self, name: str) -> None:
        """An action taken after its deadline passed counts as late, even before the timer."""
        if self.past(name):
            setattr(self, MISSED_FLAG[name], True)
            self.mark_overdue()

    @workflow.update
    async def command(self, action: CommandAction) -> PoliceLoopState:
        self.validate_command(action)
        self._late("command")
        self.unit = action.unit or self.input.suggested_unit
        self.unit_name = (
            action.unit_name if action.unit else self.input.suggested_unit_name
        ) or self.unit
        self.step = PoliceStep.handle
        self.takes_part(self.unit)
        self.clear_deadline("command")
        self.set_deadline(
            "arrive", "到场时限", hours(self.limits.arrive_minutes[self.input.urgency] / 60)
        )
        self.set_deadline("feedback", "反馈时限", self.span(self.limits.feedback_hours))
        note = f"指令 {self.unit_name} 出警" + (f": {action.note}" if action.note else "")
        self.record("command", "command", action.actor, note)
        await self.settled()
        return self.answer()

    @command.validator
    def validate_command(self, action: CommandAction) -> None:
        self._at(PoliceStep.command)
        require_role(action.actor, Role.police_bureau)
        if not action.unit and not self.input.suggested_unit:
            refuse("unit: name the unit to command; triage routed this case to no unit")
        if action.unit and len(action.unit) < 2:
            refuse("unit: a unit name has at least 2 characters")

    @workflow.update
    async def arrive(self, action: ArriveAction) -> PoliceLoopState:
        self.validate_arrive(action)
        self._late("arrive")
        self.arrived = True
        self.clear_deadline("arrive")
        self.record("handle", "arrive", action.actor, action.note or "到场")
        await self.settled()
        return self.answer()

    @arrive.validator
    def validate_arrive(self, action: ArriveAction) -> None:
        self._at(PoliceStep.handle)
        self._own_unit(action)
        if self.arrived:
            refuse(f"{self.unit} has already reported arrival")

    @workflow.update
    async def push_to_bureau(self, action: PolicePushAction) -> PoliceLoopState:
        """Not a police matter, or other departments are needed: the bureau reviews a diversion.
        The police loop goes on until the unit feeds back on its own part."""
        self.validate_push_to_bureau(action)
        self.pushed = True
        self.changed()
        self.record("handle", "push_to_bureau", action.actor, f"推送分局审核: {action.reason}")
        await self.tell_incident(POLICE_PUSH, PolicePushCall(unit=self.unit, reason=action.reason))
        await self.settled()
        return self.answer()

    @push_to_bureau.validator
    def validate_push_to_bureau(self, action: PolicePushAction) -> None:
        self._at(PoliceStep.handle)
        self._own_unit(action)
        if self.pushed:
            refuse(f"case {self.input.case_no} has already been pushed to the bureau")

    @workflow.update
    async def feedback(self, action: PoliceFeedbackAction) -> PoliceLoopState:
        self.validate_feedback(action)
        self._late("feedback")
        self.feedback = action.result
        self.step = PoliceStep.done
        for name in list(self.deadlines):
            self.clear_deadline(name)
        self.record("feedback", "feedback", action.actor, action.result)
        await self.settled()
        return self.answer()

    @feedback.validator
    def validate_feedback(self, action: PoliceFeedbackAction) -> None:
        self._at(PoliceStep.handle)
        self._own_unit(action)
        if not self.arrived:
            refuse(f"{self.unit} has not reported arrival on the scene (arrive) yet")

    @workflow.query
    def state(self) -> PoliceLoopState:
        return PoliceLoopState(
            case_no=self.input.case_no,
            step=self.step,
            unit=self.unit,
            suggested_unit=self.input.suggested_unit,
            arrived=self.arrived,
            feedback=self.feedback,
            arrive_missed=self.arrive_missed,
            feedback_missed=self.feedback_missed,
            command_missed=self.command_missed,
            overdue=self.overdue,
            told_incident=self.told_incident,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
