"""The incident's handling stage (处置中): the owner's loop, or both at once (会同处置), as child
workflows; police linkage (派警联动) from a 12345 unit, which brings in the police loop; and a
police unit's push to the bureau during handling (处置中推送分局), which, approved, brings in the
12345 loop. The stage ends when every loop started, now or later, has closed.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import ReviewAction
    from linkage.domain.models import Owner, Platform, Role, Satisfaction, Stage
    from linkage.domain.search_attributes import (
        CATEGORY,
        INCIDENT,
        KIND,
        ORIGIN,
        OVERDUE,
        TOWNSHIP,
        UNITS,
    )

from workflows.base import refuse, require_role
from workflows.contracts import (
    IncidentState,
    PolicePush,
    loop_workflow_id,
    police_case_no,
    work_order_no,
)
from workflows.loop_contracts import (
    POLICE_LINKAGE,
    POLICE_PUSH,
    HotlineLoopInput,
    HotlineLoopResult,
    PoliceLinkageCall,
    PoliceLoopInput,
    PoliceLoopResult,
    PolicePushCall,
)


def failed_loop(loop: str, report) -> PoliceLoopResult | HotlineLoopResult:
    """The result a loop that failed or was terminated counts as: not completed, not on time."""
    if loop == "police":
        return PoliceLoopResult(
            case_no=police_case_no(report), unit="", completed=False, on_time=False, feedback=""
        )
    return HotlineLoopResult(
        order_no=work_order_no(report),
        unit="",
        completed=False,
        on_time=False,
        satisfaction=Satisfaction.not_revisited,
        returns=0,
        reopens=0,
        feedback="",
    )


class Handling:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    async def _run_loops(self) -> tuple[PoliceLoopResult | None, HotlineLoopResult | None]:
        """Run the owner's loop(s) until every loop started, now or later, has closed."""
        if self.owner in (Owner.police, Owner.joint):
            await self._start_loop("police")
        if self.owner in (Owner.hotline, Owner.joint):
            await self._start_loop("hotline")
        if self.owner is Owner.joint:
            await self._rule("joint_handling", [], note=f"责任方 {self.owner.value}")
        # Every loop closed, and no police push still waiting for the bureau's review.
        await self.run_until(
            lambda: (
                set(self.loop_results) == self.started_loops and self.police_push_pending is None
            )
        )
        return self.loop_results.get("police"), self.loop_results.get("hotline")  # type: ignore[return-value]

    async def _start_loop(self, loop: str) -> None:
        """Start a loop as a child workflow; a task keeps its result when it closes."""
        if loop in self.started_loops:
            return
        self.started_loops.add(loop)
        report, limits = self.report, self.limits
        attrs = TypedSearchAttributes(
            [
                SearchAttributePair(INCIDENT, self.incident_id),
                SearchAttributePair(KIND, f"{loop}_loop"),
                SearchAttributePair(ORIGIN, self.origin.value),
                SearchAttributePair(TOWNSHIP, report.location.township),
                SearchAttributePair(CATEGORY, self.category or "uncategorised"),
                SearchAttributePair(OVERDUE, False),  # so that `LinkageOverdue = false` finds it
                *(
                    [SearchAttributePair(UNITS, [suggested])]
                    if (suggested := self._suggested_unit(loop))
                    else []
                ),
            ]
        )
        brief = f"{report.location.township} {report.location.address}: {report.description}"
        where = f"{report.location.township} · {self.category or '待分类'}"
        workflow_id = loop_workflow_id(self.incident_id, loop)
        common = dict(
            incident_id=self.incident_id,
            urgency=report.urgency,
            township=report.location.township,
            brief=brief,
            supervision=limits.supervision,
            suggested_unit=self._suggested_unit(loop),
            suggested_unit_name=self.unit_label(self._suggested_unit(loop)),
            calendar=limits.calendar,
        )
        if loop == "police":
            case_no = police_case_no(report)
            run, arg, result = (
                "PoliceLoop",
                PoliceLoopInput(case_no=case_no, limits=limits.police, **common),
                PoliceLoopResult,
            )
            summary = f"110 警单 {case_no} · {where}"
        else:
            order_no = work_order_no(report)
            # police sent it, or police are on it: replies reach them too
            notify = self.origin is Platform.police or "police" in self.started_loops
            run, arg, result = (
                "HotlineLoop",
                HotlineLoopInput(
                    order_no=order_no, notify_police=notify, limits=limits.hotline, **common
                ),
                HotlineLoopResult,
            )
            summary = f"12345 工单 {order_no} · {where}"
        # by name, so that the incident's sandbox loads no loop's module (a run costs less)
        handle = await workflow.start_child_workflow(
            run,
            arg,
            id=workflow_id,
            result_type=result,
            search_attributes=attrs,
            parent_close_policy=ParentClosePolicy.TERMINATE,
            static_summary=summary,
        )

        async def keep_result() -> None:
            try:
                self.loop_results[loop] = await handle
            except ChildWorkflowError as err:  # failed or terminated: counted as not completed
                self.loop_results[loop] = failed_loop(loop, report)
                self.record("handling", "loop_failed", note=f"{loop} 闭环异常终止: {err}")
            self.children_done.add(workflow_id)
            self.changed()

        self._loop_tasks.append(asyncio.create_task(keep_result()))
        if loop == "police":
            await self._emergency_for_police()

    async def _emergency_for_police(self) -> None:
        """The district's table for the declared category, and the units triage found evidence
        for (each unit on words of its own kind of danger), are notified when police take it.
        Incidents started before notices rested on evidence also use the table for the triaged
        category, as they did then."""
        emergency, triage = self.limits.emergency, self.triage
        by_triaged_category = []
        if not workflow.patched("emergency-on-evidence"):
            by_triaged_category = emergency.categories.get(self.category, [])
        codes = list(
            dict.fromkeys(
                [
                    *by_triaged_category,
                    *emergency.categories.get(self.report.category, []),
                    *(triage.emergency_units if triage else []),
                ]
            )
        )
        if codes and not self.emergencies:
            why = f"安全底线 {'、'.join(triage.safety)}" if triage and triage.safety else ""
            await self._link_emergency(codes, f"{why or self.category}: 派警处置同时联动应急单位")

    def _suggested_unit(self, loop: str) -> str:
        """Triage's route for this loop's side: a P item's unit is for police, an H item's for
        12345, and a joint incident's 12345 part has a route of its own."""
        triage = self.triage
        if triage is None or triage.category is None:
            return ""
        side = "police" if triage.category.code.startswith("P") else "hotline"
        route = triage.route if side == loop else None
        if loop == "hotline" and side == "police":
            route = triage.hotline_route
        if route is None or route.kind == "command_center":
            return ""
        return route.unit

    # --- police push during handling (处置中推送分局) -----------------------------------------

    @workflow.signal(name=POLICE_PUSH)
    async def police_push(self, push: PolicePushCall) -> None:
        """Police found during handling that the case is not theirs: the bureau reviews it."""
        try:
            await self._opened()
            self.police_push_pending = PolicePush(unit=push.unit, reason=push.reason)
            self.arm("police_push")
            self.record("handling", "police_push", push.unit, f"处置中推送分局审核: {push.reason}")
        finally:
            self.heard_from(push.loop)

    @workflow.update
    async def review_police_push(self, action: ReviewAction) -> IncidentState:
        self.validate_review_police_push(action)
        push = self.police_push_pending
        self.police_push_pending = None  # decided: a second review at the same instant is refused
        self.clear_deadline("police_push")
        if not action.approve:
            note = f"不予分流，继续由警方处置: {action.reason}"
            self.record("handling", "police_push_sent_back", action.actor, note)
            await self.settled()
            return self.answer()
        self.owner = Owner.joint
        details = {"divert_reason": push.reason, "pushed_by": push.unit}
        self.push_incident("incident-from-police", Platform.hotline, details)
        self._stage(Stage.handling, f"分局审核通过，转12345: {push.reason}")
        await self._start_loop("hotline")
        await self.settled()
        return self.answer()

    @review_police_push.validator
    def validate_review_police_push(self, action: ReviewAction) -> None:
        require_role(action.actor, Role.police_bureau)
        if self.police_push_pending is None:
            refuse(f"incident {self.incident_id} has no police push waiting for review")
        self._at(Stage.handling)
        if not action.approve and not action.reason:
            refuse("reason: sending a push back needs a reason")

    # --- police linkage (派警联动) ---------------------------------------------------------

    @workflow.signal(name=POLICE_LINKAGE)
    async def police_linkage(self, call: PoliceLinkageCall) -> None:
        """A 12345 unit called police to the scene: the police loop starts beside the 12345 one."""
        try:
            await self._opened()
            if self.stage is not Stage.handling or "police" in self.started_loops:
                note = f"派警联动 (110 已在处置或事件已办结，不再新建警单): {call.reason}"
                self.record("handling", "police_linkage", call.unit, note)
                return
            self.owner = Owner.joint
            await self._start_loop("police")  # counted among the loops at once
            self._stage(Stage.handling, f"派警联动，{call.unit}: {call.reason}")
        finally:
            self.heard_from(call.loop)
