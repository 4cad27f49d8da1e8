"""The incident's escalations: the whistle (“双哨”联处) blown by a duty officer or by a rule, and
emergency linkage (应急联动). Both run as child workflows beside the loops, and the incident
cannot close while one is open. A command carries a request ID and is applied once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import EmergencyLinkageAction, WhistleCall
    from linkage.domain.models import Actor, Role
    from linkage.domain.search_attributes import INCIDENT, KIND, OVERDUE, UNITS, WHISTLE
    from linkage.domain.time_limits import WHISTLE_RULES, by_urgency

from workflows.base import refuse, require_role
from workflows.contracts import EmergencyBrief, IncidentState, WhistleBrief
from workflows.loop_contracts import (
    RULE_TRIGGERED,
    EmergencyInput,
    EmergencyResult,
    RuleEvent,
    WhistleInput,
    WhistleResult,
)

UNHEARD_RECORDED = 10  # refused whistle signals kept on the timeline; the rest are dropped


class Escalations:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    @workflow.update(name="whistle")
    async def whistle(self, call: WhistleCall) -> IncidentState:
        """A duty officer blows the whistle (吹哨): accepted, with the whistle it started, or
        refused on the spot with the reason."""
        await self._opened()
        self.validate_whistle(call)
        hours_ = call.deadline_hours or self.limits.whistle.report_in_hours
        await self._blow(call.reason, call.units, hours_, blower=call.actor)
        await self.settled()
        return self.answer()

    @whistle.validator
    def admit_whistle(self, call: WhistleCall) -> None:
        """Before a whistle is accepted (a validator never runs on replay): the update's own
        checks, and one open whistle for one reason, so that a desk pressing again, or the
        same post sent five times, does not summon the units five times."""
        self.validate_whistle(call)
        reason = call.reason.strip()
        same = next((w for w in self.whistles if not w.closed and w.reason.strip() == reason), None)
        if same is not None:
            refuse(f"whistle #{same.number} for the same reason is open: act in it")

    def validate_whistle(self, call: WhistleCall) -> None:
        if call.actor.role not in (Role.police_bureau, Role.command_center):
            refuse(
                f"a duty officer blows the whistle (police_bureau or command_center), "
                f"not {call.actor.role.value}"
            )
        self._not_ended()
        if self.limits is not None and len(self.whistles) >= self.limits.whistle.max_whistles:
            refuse(
                f"incident {self.incident_id} has had {len(self.whistles)} whistles, the limit; "
                f"take it up in the open ones"
            )

    @workflow.signal
    async def blow_whistle(self, call: WhistleCall) -> None:
        """The whistle as a signal, as earlier clients sent it (kept for their histories):
        it never waits, refusals are recorded."""
        if workflow.patched("whistle-signal-retired"):
            # Anyone who reaches Temporal can send a signal with any actor in it; a whistle is
            # an update now, checked and answered. A few refusals are kept on the timeline for
            # the desk to see, the rest cost nothing but their own event.
            self.unheard_signals += 1
            if self.unheard_signals <= UNHEARD_RECORDED:
                self.record(
                    "whistle",
                    "refused",
                    "signal",
                    f"吹哨信号不再受理，请通过接口或命令行吹哨: {call.reason[:100]}",
                )
                self.changed()
            return
        if call.request_id:
            if call.request_id in self.applied:
                return
            self.applied.add(call.request_id)
        await self._opened()
        if self.ended:
            self.record("whistle", "refused", call.actor, f"事件已结束，不再吹哨: {call.reason}")
        elif call.actor.role not in (Role.police_bureau, Role.command_center):
            self.record(
                "whistle",
                "refused",
                call.actor,
                f"吹哨须由值班人员发起 (police_bureau 或 command_center): {call.reason}",
            )
        elif len(self.whistles) >= self.limits.whistle.max_whistles:
            self.record("whistle", "refused", call.actor, f"吹哨已达上限: {call.reason}")
        else:
            hours_ = call.deadline_hours or self.limits.whistle.report_in_hours
            await self._blow(call.reason, call.units, hours_, blower=call.actor)
        self.changed()

    @workflow.signal(name=RULE_TRIGGERED)
    async def rule_triggered(self, event: RuleEvent) -> None:
        """A loop reports that one of the district's whistle rules applies."""
        try:
            await self._opened()
            await self._rule(event.rule, event.units, event.note)
        finally:
            self.heard_from(event.loop)

    async def _rule(self, rule: str, about: list[str], note: str) -> None:
        config = self.limits.whistle.rules.get(rule)
        if config is None or not config.enabled:
            return
        if len(self.whistles) >= self.limits.whistle.max_whistles:
            self.record("whistle", "limit", note=f"吹哨已达上限，规则 {rule} 不再吹哨: {note}")
            return
        units = list(dict.fromkeys([*config.summon, *about]))
        reason = WHISTLE_RULES[rule] + (f" ({note})" if note else "")
        await self._blow(reason, units, self.limits.whistle.report_in_hours, rule=rule)

    async def _blow(
        self,
        reason: str,
        units: list[str],
        report_in_hours: float | str,  # hours, or working days ("1wd")
        blower: Actor | None = None,
        rule: str = "",
    ) -> None:
        number = len(self.whistles) + 1
        brief = WhistleBrief(
            number=number,
            workflow_id=f"{self.incident_id}.whistle-{number}",
            reason=reason,
            units=units,
            blown_by=str(blower or f"rule:{rule}"),
        )
        self.whistles.append(brief)
        self.upsert(WHISTLE, True)
        note = f"吹哨 #{number}: {reason}；应哨单位: {'、'.join(units)}"
        self.record("whistle", "blow", brief.blown_by, note)
        whistle = self.limits.whistle
        await self._start_beside(
            "Whistle",
            WhistleInput(
                incident_id=self.incident_id,
                number=number,
                blower=blower,
                rule=rule,
                reason=reason,
                units=units,
                unit_names={u: self.unit_label(u) for u in units},
                report_in_hours=report_in_hours,
                remind_before_hours=whistle.remind_before_hours,
                max_joint_steps=whistle.max_joint_steps,
                supervision=self.limits.supervision,
                calendar=self.limits.calendar,
            ),
            brief,
            self.whistle_results,
            f"吹哨 whistle #{number} · {reason}",
            ("whistle", WhistleResult),
            list(units),
        )

    async def _start_beside(
        self,
        run: Any,
        arg: BaseModel,
        brief: Any,
        results: list,
        summary: str,
        kind: tuple[str, type[BaseModel]],
        units: list[str],
    ) -> None:
        """Start a whistle or an emergency linkage beside the loops. When it ends its result
        joins `results` and its brief is closed, so it no longer holds the incident open."""
        kind_name, result_type = kind  # by name: the incident's sandbox loads neither module
        handle = await workflow.start_child_workflow(
            run,
            arg,
            id=brief.workflow_id,
            result_type=result_type,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(INCIDENT, self.incident_id),
                    SearchAttributePair(KIND, kind_name),
                    SearchAttributePair(UNITS, units),
                    SearchAttributePair(OVERDUE, False),
                ]
            ),
            parent_close_policy=ParentClosePolicy.TERMINATE,
            static_summary=summary,
        )

        async def keep_result() -> None:
            try:
                results.append(await handle)
            except ChildWorkflowError as err:  # failed or terminated
                self.record("handling", "escalation_failed", note=f"{summary} 异常终止: {err}")
            finally:
                brief.closed = True
                self.children_done.add(brief.workflow_id)
                self.changed()

        self._loop_tasks.append(asyncio.create_task(keep_result()))

    # --- emergency linkage (应急联动) -------------------------------------------------------

    async def _link_emergency(self, codes: list[str], reason: str) -> None:
        number = len(self.emergencies) + 1
        units = {code: self.limits.emergency.units[code] for code in codes}
        brief = EmergencyBrief(
            number=number, units=units, workflow_id=f"{self.incident_id}.emergency-{number}"
        )
        self.emergencies.append(brief)
        location = self.report.location
        note = f"应急联动 #{number}: {reason}；通知 {'、'.join(units.values())}"
        self.record("handling", "emergency_linkage", note=note)
        await self._start_beside(
            "EmergencyLinkage",
            EmergencyInput(
                incident_id=self.incident_id,
                number=number,
                units=units,
                reason=reason,
                ack_minutes=by_urgency(self.limits.emergency.ack_minutes, self.report.urgency),
                supervision=self.limits.supervision,
                payload={
                    "township": location.township,
                    "address": location.address,
                    "description": self.report.description,
                    "urgency": self.report.urgency.value,
                },
            ),
            brief,
            self.emergency_results,
            f"应急联动 emergency #{number} · {'、'.join(units.values())}",
            ("emergency", EmergencyResult),
            list(units),
        )

    @workflow.update
    async def link_emergency(self, action: EmergencyLinkageAction) -> IncidentState:
        await self._opened()
        self.validate_link_emergency(action)
        reason = action.note or f"{action.actor.unit} 发起应急联动"
        await self._link_emergency(list(dict.fromkeys(action.units)), reason)
        await self.settled()
        return self.answer()

    @link_emergency.validator
    def validate_link_emergency(self, action: EmergencyLinkageAction) -> None:
        require_role(action.actor, Role.police_bureau, Role.command_center)
        self._not_ended()
        if self.opened and len(self.emergencies) >= self.limits.emergency.max_linkages:
            refuse(
                f"incident {self.incident_id} has had {len(self.emergencies)} emergency "
                f"linkages, the limit"
            )
        if self.opened:
            known = self.limits.emergency.units
            unknown = [u for u in action.units if u not in known]
            if unknown:
                refuse(
                    f"units: unknown emergency unit(s) {', '.join(unknown)}; "
                    f"known: {', '.join(f'{c} ({n})' for c, n in known.items())}"
                )
