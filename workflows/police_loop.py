"""PoliceLoop: the police closed loop (接警 → 指令 → 处置 → 反馈).

A child of DivertedIncident. 110 commands a unit with a deadline to arrive; the unit arrives,
handles and feeds back within the feedback limit. Missed deadlines are supervised and count
against the unit in the bureau's assessment.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.actions import (
        Action,
        ArriveAction,
        CommandAction,
        PoliceFeedbackAction,
        PolicePushAction,
    )
    from linkage.models import DeadlineView, Role, TimeLimits, TimelineEntry, Urgency
    from linkage.records import PoliceCaseRecord

from workflows.base import Deadline, LinkageWorkflow, hours, refuse, require_role
from workflows.signals import POLICE_PUSH, PolicePush, supervision_exhausted, tell_incident


class PoliceStep(StrEnum):
    receive = "receive"  # 接警
    command = "command"  # 指令
    handle = "handle"  # 处置 (arrive, then handle)
    done = "done"  # 反馈 given: closed


STEP_LABELS = {
    PoliceStep.receive: "接警",
    PoliceStep.command: "指令",
    PoliceStep.handle: "处置",
    PoliceStep.done: "已反馈",
}


class PoliceLoopInput(BaseModel):
    incident_id: str
    case_no: str
    urgency: Urgency
    township: str
    brief: str
    limits: TimeLimits
    suggested_unit: str = ""  # where triage routed it (the township's station …)


class PoliceLoopState(BaseModel):
    case_no: str
    step: PoliceStep
    unit: str
    suggested_unit: str = ""
    arrived: bool
    feedback: str
    arrive_missed: bool
    feedback_missed: bool
    overdue: bool
    deadlines: list[DeadlineView]
    timeline: list[TimelineEntry]


class PoliceLoopResult(BaseModel):
    case_no: str
    unit: str
    completed: bool
    on_time: bool
    feedback: str
    timeline: list[TimelineEntry]


@workflow.defn
class PoliceLoop(LinkageWorkflow):
    loop = "police"

    @workflow.init
    def __init__(self, input: PoliceLoopInput) -> None:
        self.input = input
        self.limits = input.limits.police
        self._init_base(input.incident_id, input.limits.supervision)
        self.step = PoliceStep.command  # received on start: 110 can command at once
        self.set_deadline("command", "指令时限", hours(self.limits.command_minutes / 60))
        self.unit = ""
        self.arrived = False
        self.feedback = ""
        self.arrive_missed = False
        self.pushed = False
        self.feedback_missed = False

    @workflow.run
    async def run(self, input: PoliceLoopInput) -> PoliceLoopResult:
        await self.record("receive", "receive", note=f"警单 {input.case_no} 接警")
        await self.run_until(lambda: self.step is PoliceStep.done)
        await self.handlers_finished()
        return PoliceLoopResult(
            case_no=input.case_no,
            unit=self.unit,
            completed=True,
            on_time=not (self.arrive_missed or self.feedback_missed),
            feedback=self.feedback,
            timeline=self.timeline,
        )

    async def on_missed(self, deadline: Deadline) -> bool:
        if deadline.name == "arrive":
            self.arrive_missed = True
        elif deadline.name == "feedback":
            self.feedback_missed = True
        return True

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await supervision_exhausted(
            [self.unit] if self.unit else [], f"警单 {self.input.case_no} {deadline.label}"
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
                on_time=not (self.arrive_missed or self.feedback_missed) if done else None,
            )
        }

    def details(self) -> str:
        unit = f" · 处警 {self.unit}" if self.unit else ""
        late = " · 已超时 overdue" if self.overdue else ""
        return (
            f"110 警单 {self.input.case_no}: {STEP_LABELS[self.step]} "
            f"({self.step.value}){unit}{late}"
        )

    def _at(self, step: PoliceStep) -> None:
        if self.step is not step:
            refuse(
                f"case {self.input.case_no} is at {STEP_LABELS[self.step]} "
                f"({self.step.value}); this action needs {STEP_LABELS[step]} ({step.value})"
            )

    def _own_unit(self, action: Action) -> None:
        require_role(action.actor, Role.police_unit)
        if action.actor.unit != self.unit:
            refuse(
                f"case {self.input.case_no} is commanded to {self.unit or 'no unit yet'}, "
                f"not to {action.actor.unit}"
            )

    @workflow.update
    async def command(self, action: CommandAction) -> PoliceLoopState:
        self.validate_command(action)
        self.unit = action.unit or self.input.suggested_unit
        self.step = PoliceStep.handle
        self.clear_deadline("command")
        self.set_deadline(
            "arrive", "到场时限", hours(self.limits.arrive_minutes[self.input.urgency] / 60)
        )
        self.set_deadline("feedback", "反馈时限", hours(self.limits.feedback_hours))
        await self.record(
            "command",
            "command",
            action.actor,
            f"指令 {self.unit} 出警" + (f": {action.note}" if action.note else ""),
        )
        return self.state()

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
        if self.past("arrive"):
            self.arrive_missed = True
            self.mark_overdue()
        self.arrived = True
        self.clear_deadline("arrive")
        await self.record("handle", "arrive", action.actor, action.note or "到场")
        return self.state()

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
        await self.record(
            "handle", "push_to_bureau", action.actor, f"推送分局审核: {action.reason}"
        )
        await tell_incident(POLICE_PUSH, PolicePush(unit=self.unit, reason=action.reason))
        return self.state()

    @push_to_bureau.validator
    def validate_push_to_bureau(self, action: PolicePushAction) -> None:
        self._at(PoliceStep.handle)
        self._own_unit(action)
        if self.pushed:
            refuse(f"case {self.input.case_no} has already been pushed to the bureau")

    @workflow.update
    async def feedback(self, action: PoliceFeedbackAction) -> PoliceLoopState:
        self.validate_feedback(action)
        if self.past("feedback"):
            self.feedback_missed = True
            self.mark_overdue()
        self.feedback = action.result
        self.step = PoliceStep.done
        for name in list(self.deadlines):
            self.clear_deadline(name)
        await self.record("feedback", "feedback", action.actor, action.result)
        return self.state()

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
            overdue=self.overdue,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
