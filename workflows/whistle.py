"""Whistle: the “双哨”联处 escalation, a child of the incident that runs beside its loops.

A duty officer (or a rule) blows the whistle with a reason, the units summoned and a deadline to
report in (应哨报到). Each summoned unit reports in through an update; units that miss the
deadline are recorded, reminded and escalated, and count against them. The joint plan and the
joint handling are recorded step by step, and the whistle closes when the officer who blew it
closes it. The incident cannot finish while a whistle is open.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import CloseWhistleAction, JointStepAction, ReportInAction
    from linkage.domain.models import Role

from workflows.base import Deadline, LinkageWorkflow, hours, refuse
from workflows.loop_contracts import WhistleInput, WhistleResult, WhistleState

DUTY_ROLES = (Role.police_bureau, Role.command_center)


def blown_by(input: WhistleInput) -> str:
    return str(input.blower) if input.blower else f"rule:{input.rule}"


@workflow.defn
class Whistle(LinkageWorkflow):
    loop = "whistle"

    @workflow.init
    def __init__(self, input: WhistleInput) -> None:
        self.input = input
        self._init_base(input.incident_id, input.supervision)
        self.reported: dict[str, datetime] = {}
        self.late: list[str] = []
        self.closed_by = ""
        self.joint_steps = 0  # plans and steps so far, bounded by the input
        self.set_deadline(
            "report_in",
            "应哨报到时限",
            self.span(input.report_in_hours),
            remind_before=[hours(h) for h in input.remind_before_hours],
        )

    @workflow.run
    async def run(self, input: WhistleInput) -> WhistleResult:
        self.record(
            "whistle",
            "blow",
            blown_by(input),
            f"吹哨: {input.reason}；应哨单位: {'、'.join(input.units)}",
        )
        await self.run_until(lambda: bool(self.closed_by))
        await self.close_out()
        return WhistleResult(
            number=input.number,
            reason=input.reason,
            blown_by=blown_by(input),
            units=input.units,
            on_time=[u for u in self.reported if u not in self.late],
            late=self.late,
            missed=self._waiting(),
            closed_by=self.closed_by,
            timeline=self.timeline,
        )

    def _waiting(self) -> list[str]:
        return [u for u in self.input.units if u not in self.reported]

    def waiting_on(self, deadline: str) -> list[str]:
        return self._waiting()

    async def on_reminder(self, deadline: Deadline) -> None:
        waiting = "、".join(self.input.unit_names.get(u, u) for u in self._waiting())
        self.record("report_in", "remind", note=f"催报: {waiting} 尚未应哨报到")

    async def on_missed(self, deadline: Deadline) -> bool:
        self.mark_overdue()
        for unit in self._waiting():  # one step per unit: each counts against its own unit
            self.record("report_in", "missed", note=f"应哨超时未报到: {unit}，计入考核", unit=unit)
        return True  # escalated through supervision (督办) until they report or it closes

    def details(self) -> str:
        waiting = [self.input.unit_names.get(u, u) for u in self._waiting()]
        closed = f"**已结束 closed** by {self.closed_by} · " if self.closed_by else ""
        return (
            f"{closed}吹哨 whistle #{self.input.number}: {self.input.reason} · 已报到 reported "
            f"{len(self.reported)}/{len(self.input.units)}"
            + (
                f" · 未报到 {'missed' if closed else 'waiting'} {'、'.join(waiting)}"
                if waiting
                else ""
            )
        )

    # --- updates ----------------------------------------------------------------------------

    def _open(self) -> None:
        if self.closed_by:
            refuse(f"whistle #{self.input.number} is closed")

    def _summoned_as(self, action) -> str | None:
        """The unit as the whistle summoned it: by code, or by name in an older whistle."""
        return next((u for u in self.input.units if action.actor.acts_for(u)), None)

    @workflow.update
    async def report_in(self, action: ReportInAction) -> WhistleState:
        self.validate_report_in(action)
        unit = self._summoned_as(action) or action.actor.unit
        self.reported[unit] = workflow.now()
        deadline = self.deadlines.get("report_in")
        late = deadline is None or deadline.missed or self.past("report_in")
        if late:
            self.late.append(unit)
        if not self._waiting():
            self.clear_deadline("report_in")
        self.changed()
        self.record(
            "report_in",
            "report_in",
            action.actor,
            ("逾期报到" if late else "应哨报到") + (f": {action.note}" if action.note else ""),
        )
        await self.settled()
        return self.answer()

    @report_in.validator
    def validate_report_in(self, action: ReportInAction) -> None:
        self._open()
        unit = self._summoned_as(action)
        if unit is None:
            unit = action.actor.unit
            refuse(
                f"{unit} was not summoned by whistle #{self.input.number} "
                f"(summoned: {'、'.join(self.input.units)})"
            )
        if unit in self.reported:
            refuse(f"{unit} has already reported in")

    @workflow.update
    async def joint_step(self, action: JointStepAction) -> WhistleState:
        self.validate_joint_step(action)
        self.joint_steps += 1
        label = "联合处置方案" if action.kind == "plan" else "联合处置"
        self.record(action.kind, action.kind, action.actor, f"{label}: {action.note}")
        await self.settled()
        return self.answer()

    @joint_step.validator
    def validate_joint_step(self, action: JointStepAction) -> None:
        self._open()
        if not action.note:
            refuse("note: say what was planned or done")
        if self.joint_steps >= self.input.max_joint_steps:
            refuse(
                f"whistle #{self.input.number} has {self.joint_steps} plans and steps, the limit: "
                f"close it, and blow another if more is to be done together"
            )
        if action.actor.role not in DUTY_ROLES and self._summoned_as(action) is None:
            refuse(
                f"{action.actor.unit} is neither a duty officer nor summoned by whistle "
                f"#{self.input.number}"
            )

    @workflow.update
    async def close(self, action: CloseWhistleAction) -> WhistleState:
        self.validate_close(action)
        self.closed_by = str(action.actor)
        self.clear_deadline("report_in")
        waiting = self._waiting()
        note = action.note or "联处结束"
        if waiting:
            note += f"；未报到: {'、'.join(waiting)}"
        self.record("whistle", "close", action.actor, note)
        await self.settled()
        return self.answer()

    @close.validator
    def validate_close(self, action: CloseWhistleAction) -> None:
        self._open()
        blower = self.input.blower
        if blower is None:
            if action.actor.role not in DUTY_ROLES:
                refuse(
                    "a rule's whistle is closed by a duty officer (police_bureau or command_center)"
                )
        elif action.actor.role != blower.role or not action.actor.acts_for(blower.unit):
            refuse(
                f"whistle #{self.input.number} is closed by whoever blew it "
                f"({blower.role.value}:{blower.unit}), not {action.actor.unit}"
            )

    @workflow.query
    def state(self) -> WhistleState:
        return WhistleState(
            number=self.input.number,
            reason=self.input.reason,
            blown_by=blown_by(self.input),
            units=self.input.units,
            reported=self.reported,
            late=self.late,
            closed=bool(self.closed_by),
            overdue=self.overdue,
            told_incident=self.told_incident,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
