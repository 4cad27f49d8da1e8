"""EmergencyLinkage (应急联动): notify the emergency units at once, in parallel, beside police.

Each notice is a gateway activity with retries, sent to all units at the same time. Each unit
acknowledges through an update; units that have not acknowledged when the limit passes are
recorded and escalated (督办), and when supervision runs out a whistle rule may apply. The
linkage ends when every unit has acknowledged, or when escalation has run its course.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import AcknowledgeAction
    from linkage.domain.models import Role
    from linkage.domain.record_inputs import EmergencyNotice

from workflows.base import Deadline, LinkageWorkflow, hours, refuse, require_role
from workflows.loop_contracts import (
    RULE_TRIGGERED,
    EmergencyInput,
    EmergencyResult,
    EmergencyState,
    RuleEvent,
)


@workflow.defn
class EmergencyLinkage(LinkageWorkflow):
    loop = "emergency"

    @workflow.init
    def __init__(self, input: EmergencyInput) -> None:
        self.input = input
        self._init_base(input.incident_id, input.supervision)
        self.acknowledged: dict[str, datetime] = {}
        self.late: list[str] = []
        self.gave_up = False

    @workflow.run
    async def run(self, input: EmergencyInput) -> EmergencyResult:
        # The clock starts with the notices: a unit that cannot be reached is escalated too.
        self.set_deadline("ack", "应急响应确认时限", hours(input.ack_minutes / 60))
        for code, name in input.units.items():
            self.send(
                EmergencyNotice(
                    key=f"{self.incident_id}:emergency-{input.number}:{code}",
                    incident_id=self.incident_id,
                    unit_code=code,
                    unit_name=name,
                    reason=input.reason,
                    payload=input.payload,
                ),
                summary=f"应急联动 {name}",
            )
        await self.run_until(lambda: not self._waiting() or self.gave_up)
        await self.close_out()
        return EmergencyResult(
            number=input.number,
            units=input.units,
            acknowledged=self.acknowledged,
            unacknowledged=self._waiting(),
            late=self.late,
            timeline=self.timeline,
        )

    def _waiting(self) -> list[str]:
        return [code for code in self.input.units if code not in self.acknowledged]

    def waiting_on(self, deadline: str) -> list[str]:
        return self._waiting()

    def _names(self, codes: list[str]) -> str:
        return "、".join(self.input.units[c] for c in codes)

    async def on_missed(self, deadline: Deadline) -> bool:
        self.mark_overdue()
        for code in self._waiting():  # one step per unit: each counts against its own unit
            name = self.input.units[code]
            self.record("ack", "unacknowledged", note=f"未确认应急响应: {name}", unit=name)
        return True

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self.tell_incident(
            RULE_TRIGGERED,
            RuleEvent(
                rule="supervision_exhausted",
                units=self._waiting(),  # by code, as the whistle summons and they report in
                note=f"应急联动 {deadline.label}",
            ),
        )
        self.gave_up = True
        self.changed()

    def details(self) -> str:
        waiting = self._waiting()
        closed = "**已结束 closed** · " if self._closing else ""
        return (
            f"{closed}应急联动 emergency #{self.input.number}: 已确认 acknowledged "
            f"{len(self.acknowledged)}/{len(self.input.units)}"
            + (f" · 未确认 waiting {self._names(waiting)}" if waiting else "")
        )

    @workflow.update
    async def acknowledge(self, action: AcknowledgeAction) -> EmergencyState:
        self.validate_acknowledge(action)
        code = action.actor.unit
        self.acknowledged[code] = workflow.now()
        if self.past("ack"):
            self.late.append(code)
        if not self._waiting():
            self.clear_deadline("ack")
        self.changed()
        self.record(
            "ack",
            "acknowledge",
            action.actor,
            f"{self.input.units[code]} 确认响应" + (f": {action.note}" if action.note else ""),
            unit=self.input.units[code],
        )
        await self.settled()
        return self.answer()

    @acknowledge.validator
    def validate_acknowledge(self, action: AcknowledgeAction) -> None:
        require_role(action.actor, Role.emergency_unit)
        code = action.actor.unit
        if code not in self.input.units:
            refuse(
                f"{code} was not notified by emergency linkage #{self.input.number} "
                f"(notified: {', '.join(self.input.units)})"
            )
        if code in self.acknowledged:
            refuse(f"{self.input.units[code]} has already acknowledged")

    @workflow.query
    def state(self) -> EmergencyState:
        return EmergencyState(
            number=self.input.number,
            units=self.input.units,
            acknowledged=self.acknowledged,
            overdue=self.overdue,
            told_incident=self.told_incident,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
