"""DivertedIncident: one incident handed from one platform to the other, seen through to the end.

A platform's report reaches its incident by the incident's own workflow ID (origin-reference)
with Update-with-Start: the same push again finds the same workflow. The incident opens in one
local activity (time limits, triage, and the intake's decision in the records database: new, or
a repeat of an open incident, which it then joins) and goes through its stages:

  triage review (分诊复核) → sending review (推送审核) → the push (推送) → receiving review
  (接收审核) → negotiation (异议协商) → handling (处置中: PoliceLoop and/or HotlineLoop as child
  workflows, whistles and emergency linkages beside them) → the result pushed back (双推送) →
  closed, with the whole timeline and both sides' assessment (双考核).

The stages live in incident_triage, incident_reviews, incident_handling and
incident_escalations; their deadlines in stages.STAGE_DEADLINES; the contracts in contracts.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from linkage.domain.actions import ReceiveAction
    from linkage.domain.models import STAGE_LABELS, Owner, Platform, Stage
    from linkage.domain.record_inputs import PushInput
    from linkage.domain.search_attributes import INCIDENT, ORIGIN, OWNER, STAGE

from workflows.assessment import assess
from workflows.base import Deadline, LinkageWorkflow, refuse
from workflows.contracts import IncidentInput, IncidentSummary
from workflows.incident_escalations import Escalations
from workflows.incident_handling import Handling
from workflows.incident_intake import INTAKE_WAITS, Intake
from workflows.incident_reviews import REVIEWER, ReviewStages
from workflows.incident_triage import TriageReview
from workflows.incident_views import Views
from workflows.loop_contracts import HotlineLoopResult, PoliceLoopResult
from workflows.stages import STAGE_DEADLINES

ENDED = (Stage.closed, Stage.withdrawn, Stage.merged)


@workflow.defn
class DivertedIncident(
    Intake, TriageReview, ReviewStages, Handling, Escalations, Views, LinkageWorkflow
):
    writes_with_next = True  # its stages follow one another: a stage's write carries the last's

    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self.report = input.report
        self.origin = input.report.origin
        self.receiver = self.origin.other
        self._init_base(input.report.incident_id, None)
        self.stage = Stage.sending_review
        self.owner: Owner | None = None
        self.pushes = 1
        self.divert_reason = input.report.divert_reason
        self.joint = input.report.joint
        self.category = input.report.category  # the catalogue's name once triaged
        self.limits = None  # the time-limit table, once opened; handlers wait for that
        self.opened = False
        self.open_error = ""
        self.intake = None
        self.submitted = False
        self.merged_into = ""
        self.triage = None
        self.triage_override = None
        self.triage_decided = False
        self.review = None
        self.resubmit_action = None
        self.received = None
        self.dispute_reason = ""
        self.proposals: dict[str, str] = {}  # side → the owner it proposes (协商)
        self.proposal_count = 0  # proposals made so far, bounded by the table
        self.resubmits = 0  # sent-back pushes revised and sent again, likewise
        self.first_receiver_handles = False
        self.started_loops: set[str] = set()
        self.loop_results: dict[str, PoliceLoopResult | HotlineLoopResult] = {}
        self.children_done: set[str] = set()
        self.heard: dict[str, int] = {}
        self.applied: set[str] = set()  # request IDs of signals already applied
        self.unheard_signals = 0  # whistle signals refused since they are no longer taken
        self.whistles, self.whistle_results = [], []
        self.emergencies, self.emergency_results = [], []
        self.police_push_pending = None
        self.repeat_whistled = False
        self._loop_tasks: list[asyncio.Task] = []
        self.child_late: dict[str, list] = {}  # what each child has late now (LateNotice)
        self.unit_names: dict[str, str] = {}  # the register's names, as the incident opened
        self.outcome = ""  # how it ended, once it has
        self.known_attributes(**{INCIDENT.name: self.incident_id, ORIGIN.name: self.origin.value})

    @workflow.run
    async def run(self, input: IncidentInput) -> IncidentSummary:
        if not await self._open(input):
            summary = await self._finish(self.open_error or f"并入事件 {self.merged_into}")
            if self.open_error and workflow.patched(INTAKE_WAITS):
                # failed, not closed: the same reference can be pushed again once mended
                raise ApplicationError(
                    f"{self.incident_id}: {self.open_error}", type="ReportNotTaken"
                )
            return summary
        review = self.limits.review
        if self.origin not in review.sending_review_required:
            self.stage = Stage.receiving_review
        if not await self._triage_review():
            note = f"分诊: 由首接平台{self.origin.label}处置，不再分流 ({self.triage_note()})"
            return await self._finish(note)
        if self.stage is Stage.sending_review and not await self._sending_review():
            return await self._finish("案件由原平台保留处置 (撤回推送)")

        self._stage(Stage.receiving_review, f"推送至{self.receiver.label}，待送达与接收审核")
        self.push_incident(
            "incident",
            self.receiver,
            {"divert_reason": self.divert_reason},
            then=self._push_delivered,
            failed=self._push_failed,
        )
        await self.run_until(lambda: self.received is not None)
        self.clear_deadline("receiving_review")
        if not self.received.accept:
            self._stage(Stage.negotiation, f"异议: {self.dispute_reason}")
            self.arm("negotiation")
            await self.run_until(lambda: self.owner is not None)
            self.clear_deadline("negotiation")

        self._stage(Stage.handling, f"责任方 {self.owner.value}")
        police, hotline = await self._run_loops()

        self._stage(Stage.pushing_back, "办理结果回推")
        target = self.receiver if self.owner.value == self.origin.value else self.origin
        self.send(
            PushInput(
                key=f"{self.incident_id}:result",
                target=target,
                kind="result",
                incident_id=self.incident_id,
                payload={
                    "owner": self.owner.value,
                    "police": police.model_dump(mode="json", exclude={"timeline"})
                    if police
                    else None,
                    "hotline": hotline.model_dump(mode="json", exclude={"timeline"})
                    if hotline
                    else None,
                },
            ),
            summary=f"结果回推 result → {target.value}",
        )
        return await self._finish("双闭环完成", police, hotline)

    # --- stages, deadlines and the parties' checks ------------------------------------------

    def _stage(self, stage: Stage, note: str) -> None:
        self.stage = stage
        self.upsert(STAGE, stage.value)
        self.upsert(OWNER, self.owner.value if self.owner else "")
        self.record(stage.value, "enter", note=f"{STAGE_LABELS[stage]}: {note}")
        self.changed()

    def arm(self, name: str) -> Deadline:
        spec = STAGE_DEADLINES[name]
        limit = spec.limit_hours(self.limits.review, self.report.urgency)
        return self.set_deadline(name, spec.label, self.span(limit))

    async def on_missed(self, deadline: Deadline) -> bool:
        spec = STAGE_DEADLINES.get(deadline.name)
        if spec is None or not spec.missed:
            return True
        await getattr(self, spec.missed)()
        return False

    async def on_supervision_exhausted(self, deadline: Deadline) -> None:
        await self._rule("supervision_exhausted", [], deadline.label)

    async def on_write_refused(self, reason: str) -> None:
        if self.limits is not None:
            await self._rule("record_refused", [], reason[:200])

    def push_incident(self, key: str, target: Platform, details: dict, **callbacks) -> None:
        """Push the incident itself to the other platform (双推送), with why it is pushed."""
        self.send(
            PushInput(
                key=f"{self.incident_id}:{key}",
                target=target,
                kind="incident",
                incident_id=self.incident_id,
                payload={"report": self.report.model_dump(mode="json"), **details},
            ),
            summary=f"推送 push → {target.value}",
            **callbacks,
        )

    async def _push_delivered(self, receipt) -> None:
        """The receiver's review runs from delivery, not from when the push was queued."""
        if self.received is None and self.stage is Stage.receiving_review:
            self.arm("receiving_review")

    async def _push_failed(self, reason: str) -> None:
        """The push can never reach the receiver: the first receiver handles it (首接平台先行
        受理), and a person is told."""
        if self.received is None:
            self.first_receiver_handles = True
            self.owner = Owner(self.origin.value)
            self.received = ReceiveAction(
                actor={"role": REVIEWER[self.receiver], "unit": "system"}, accept=True
            )
            self.record(
                "receiving_review", "push_failed", note=f"推送失败，由首接平台处置: {reason}"
            )
        await self._rule("delivery_failed", [], reason)

    async def _opened(self) -> None:
        """An action that arrives while the incident is still opening waits for it, then is
        checked again against the stage the incident has reached."""
        await workflow.wait_condition(lambda: self.opened)

    @property
    def ended(self) -> bool:
        return self.stage in ENDED or bool(self.open_error) or bool(self.merged_into)

    def _not_ended(self) -> None:
        if self.ended:
            refuse(f"incident {self.incident_id} is already {STAGE_LABELS[self.stage]}")

    def _at(self, stage: Stage) -> None:
        self._not_ended()
        if self.opened and self.stage is not stage:
            refuse(
                f"incident {self.incident_id} is at {STAGE_LABELS[self.stage]} "
                f"({self.stage.value}); this action needs {STAGE_LABELS[stage]} ({stage.value})"
            )

    def heard_from(self, loop: str) -> None:
        self.heard[loop] = self.heard.get(loop, 0) + 1
        self.changed()

    # --- the end ----------------------------------------------------------------------------

    async def _finish(
        self,
        outcome: str,
        police: PoliceLoopResult | None = None,
        hotline: HotlineLoopResult | None = None,
    ) -> IncidentSummary:
        """Every send taken or failed and every whistle and emergency linkage closed, then the
        final stage, written with the release of the intake's claims."""
        if not self._quiet():  # else the action that ended it answers with the final stage
            await self.run_until(self._quiet)
        if self.merged_into:
            final = Stage.merged
        elif self.owner is not None:
            final = Stage.closed
        else:
            final = Stage.withdrawn
        self.outcome = outcome
        if self.open_error:  # the report was not taken: there is nothing to write
            self.stage = final
            self.upsert(STAGE, final.value)
        else:
            self._close_claims = not self.merged_into
            self._stage(final, outcome)
        await self.close_out()
        return IncidentSummary(
            incident_id=self.incident_id,
            origin=self.origin,
            stage=final,
            owner=self.owner,
            outcome=outcome,
            first_receiver_handles=self.first_receiver_handles,
            triage=self.triage,
            triage_override=self.triage_override,
            police=police,
            hotline=hotline,
            assessments=assess(police, hotline, self.whistle_results, self.emergency_results),
            whistles=self.whistle_results,
            emergencies=self.emergency_results,
            merged_into=self.merged_into,
            timeline=sorted(
                self.timeline
                + (police.timeline if police else [])
                + (hotline.timeline if hotline else [])
                + [e for w in self.whistle_results for e in w.timeline]
                + [e for x in self.emergency_results for e in x.timeline],
                key=lambda e: e.at,
            ),
        )

    def _quiet(self) -> bool:
        return self.all_sent() and all(b.closed for b in [*self.whistles, *self.emergencies])
