"""What supervisors and the records see of an incident: the search attributes that follow
triage, the snapshot written with each step, the Web UI's current details, and the state query.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from linkage.models import STAGE_LABELS
    from linkage.records import IncidentProgress
    from linkage.temporal import CATEGORY, SAFETY, SUBCATEGORY

from workflows.contracts import IncidentState, loop_workflow_id


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
        owner = f" · 责任方 owner {self.owner.value}" if self.owner else ""
        late = " · 已超时 overdue" if self.overdue else ""
        triage = ""
        if self.triage is not None:
            safety = f" · 安全底线 {'、'.join(self.triage.safety)}" if self.triage.safety else ""
            by = " · 人工改判" if self.triage_override else ""
            triage = (
                f"\n分诊 triage: {self.triage_note()} · 派往 {self.triage.route.unit}{safety}{by}"
            )
        waiting = "".join(
            f"\n{d.label}: {d.at.isoformat(timespec='minutes')}" + (" (已超时)" if d.missed else "")
            for d in self.deadlines.values()
        )
        return (
            f"{self.origin.label} → {self.receiver.label} · 阶段 {STAGE_LABELS[self.stage]} "
            f"({self.stage.value}){owner}{late}{triage}{waiting}"
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
            first_receiver_handles=self.first_receiver_handles,
            limits_version=self.limits.version if self.limits else "",
            police_workflow_id=loop_workflow_id(self.incident_id, "police")
            if "police" in started
            else "",
            hotline_workflow_id=loop_workflow_id(self.incident_id, "hotline")
            if "hotline" in started
            else "",
            overdue=self.overdue,
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
