"""What supervisors and the records see of an incident: the search attributes that follow
triage, the snapshot written with each step, the Web UI's current details, and the state query.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.domain.models import CENTRE_OF, STAGE_LABELS, Platform, WorkItem
    from linkage.domain.record_inputs import IncidentProgress
    from linkage.domain.search_attributes import CATEGORY, SAFETY, SUBCATEGORY

from workflows.contracts import IncidentState, loop_workflow_id
from workflows.loop_contracts import LATE_SIGNAL, LateNotice

SHANGHAI = timezone(timedelta(hours=8), "CST")  # the district's zone, fixed: no lookups on replay

# Who owes each of the incident's deadlines (the register's codes).
WAITING_ON = {
    "triage_review": lambda i: ["desk.linkage"],
    "sending_review": lambda i: ["police.bureau"],
    "police_push": lambda i: ["police.bureau"],
    "resubmit": lambda i: [i.report.originating_unit],
    "receiving_review": lambda i: [CENTRE_OF[i.receiver]],
    "negotiation": lambda i: [CENTRE_OF[Platform.hotline], CENTRE_OF[Platform.police]],
}


class Views:
    """Mixed into DivertedIncident; the attributes it uses are set in its __init__."""

    def _triaged(self) -> None:
        """The category, the search attributes and the Web UI follow the current triage."""
        triage = self.triage
        if triage.category is not None:
            self.category = triage.category.name
        self.upsert(CATEGORY, self.category or "uncategorised")
        self.upsert(SUBCATEGORY, triage.subcategory.code if triage.subcategory else "")
        self.upsert(SAFETY, bool(triage.safety))
        self.changed()

    # --- overdue: the incident's own deadlines and its children's -----------------------------

    @workflow.signal(name=LATE_SIGNAL)
    def loop_late(self, notice: LateNotice) -> None:
        """A loop, whistle or notice says what it has late now."""
        self.child_late[notice.workflow_id] = notice.items
        self.changed()

    def waiting_on(self, deadline: str) -> list[str]:
        who = WAITING_ON.get(deadline)
        return who(self) if who else []

    def late_now(self) -> list[WorkItem]:
        own = [item for item in self.work() if item.missed]
        children = [
            item
            for workflow_id, items in self.child_late.items()
            if workflow_id not in self.children_done
            for item in items
        ]
        return sorted(own + children, key=lambda item: item.due or workflow.now())

    def unit_label(self, code: str) -> str:
        return self.unit_names.get(code, code)

    def late_details(self) -> str:
        lines = []
        for item in self.late_now():
            due = item.due.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if item.due else "-"
            who = "、".join(self.unit_label(u) for u in item.units) or "-"
            lines.append(
                f"\n- ⚠ **{item.label}** ({item.loop}) 应于 due {due} · 超时方 late: {who} · "
                f"督办 supervised {item.supervisions} 次"
            )
        return ("\n\n**超时 overdue**" + "".join(lines)) if lines else ""

    def triage_note(self) -> str:
        triage = self.triage
        if triage is None:
            return "未分诊"
        item = str(triage.subcategory) if triage.subcategory else "未分类"
        return f"{item} · {triage.direction} · 置信度 {triage.confidence:.2f}"

    def snapshot(self) -> dict:
        if self.merged_into or self.open_error:
            return {}  # a report that joined another incident has no incident row of its own
        triage = self.triage
        fields = {"category": self.category}
        if triage is not None:
            fields |= {
                "category_code": triage.category.code if triage.category else "",
                "subcategory": triage.subcategory.code if triage.subcategory else "",
                "direction": triage.direction,
                "triage_confidence": triage.confidence,
                "needs_review": triage.needs_review and not self.triage_decided,
                "safety": bool(triage.safety),
                "route_unit": triage.route.unit,
                "catalogue_version": triage.catalogue_version,
                "model_version": triage.model_version,
            }
        progress = IncidentProgress(
            stage=self.stage.value,
            owner=self.owner.value if self.owner else "",
            pushes=self.pushes,
            overdue=self.overdue,
            **fields,
        )
        return {"incident": progress}

    def details(self) -> str:
        if self.outcome:
            return self.ended_details()
        owner = f" · 责任方 owner {self.owner.value}" if self.owner else ""
        late = " · ⚠ 已超时 overdue" if self.late_now() else ""
        triage = ""
        if self.triage is not None:
            safety = f" · 安全底线 {'、'.join(self.triage.safety)}" if self.triage.safety else ""
            by = " · 人工改判" if self.triage_override else ""
            route = self.unit_label(self.triage.route.unit)
            triage = f"\n分诊 triage: {self.triage_note()} · 派往 {route}{safety}{by}"
        waiting = "".join(
            f"\n{d.label}: {d.at.astimezone(SHANGHAI).strftime('%m-%d %H:%M')}"
            + (" (已超时)" if d.missed else "")
            for d in self.deadlines.values()
        )
        return (
            f"{self.origin.label} → {self.receiver.label} · 阶段 {STAGE_LABELS[self.stage]} "
            f"({self.stage.value}){owner}{late}{triage}{waiting}{self.late_details()}"
        )

    def ended_details(self) -> str:
        """How the incident ended, first, so that no one reads a stage it has left."""
        label = f"**{STAGE_LABELS[self.stage]} {self.stage.value}**"
        if self.merged_into:
            return f"{label} → {self.merged_into}: 此报告并入该事件处置 (joined that incident)"
        if self.open_error:
            return f"{label}: 未受理 not taken · {self.open_error}"
        owner = f" · 责任方 owner {self.owner.value}" if self.owner else ""
        first = " · 首接平台先行受理" if self.first_receiver_handles else ""
        return (
            f"{label} · {self.outcome}{owner}{first}\n\n"
            f"{self.origin.label} → {self.receiver.label}"
            + (f"\n分诊 triage: {self.triage_note()}" if self.triage is not None else "")
        )

    @workflow.query
    def state(self) -> IncidentState:
        started = self.started_loops
        return IncidentState(
            incident_id=self.incident_id,
            origin=self.origin,
            receiver=self.receiver,
            stage=self.stage,
            owner=self.owner,
            pushes=self.pushes,
            divert_reason=self.divert_reason,
            dispute_reason=self.dispute_reason,
            proposals=self.proposals,
            first_receiver_handles=self.first_receiver_handles,
            limits_version=self.limits.version if self.limits else "",
            police_workflow_id=loop_workflow_id(self.incident_id, "police")
            if "police" in started
            else "",
            hotline_workflow_id=loop_workflow_id(self.incident_id, "hotline")
            if "hotline" in started
            else "",
            overdue=bool(self.late_now()),
            late=self.late_now(),
            triage=self.triage,
            triage_override=self.triage_override,
            whistles=self.whistles,
            emergencies=self.emergencies,
            police_push_pending=self.police_push_pending,
            merged_into=self.merged_into,
            heard=self.heard,
            loops_done=sorted(self.children_done),
            settled=self._settled >= self._changes or self._finished,
            deadlines=self.deadline_views(),
            timeline=self.timeline,
        )
