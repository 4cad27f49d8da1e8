"""Diverting a report: it opens its own incident (Update-with-Start on `origin-reference`), or
joins the open incident it repeats; the same push again is counted once."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from linkage.client.base import ClientBase, transient
from linkage.client.errors import LinkageError, NoAnswer, answer_within
from linkage.domain import edge_checks as edge
from linkage.domain.contract import from_edge
from linkage.domain.models import IncidentReport, check_report_window
from linkage.domain.search_attributes import (
    CATEGORY,
    INCIDENT,
    KIND,
    ORIGIN,
    OVERDUE,
    TOWNSHIP,
    UNITS,
)
from linkage.domain.units import ORIGIN_KINDS, Register, UnknownUnit, load_register
from linkage.settings.config import format_validation_error
from workflows.contracts import (
    INCIDENT_WORKFLOW,
    IncidentInput,
    IncidentSummary,
    Submission,
    SubmitAnswer,
)

SEND_ATTEMPTS = 12  # a server that is briefly busy or restarting is waited for, with backoff


def parse_report(data: Any, register: Register | None = None) -> IncidentReport:
    """Validate a report as it arrives; a bad one raises LinkageError naming each field and its
    problem, every one at once. Unknown fields are refused, and so are a received_at in the
    future or long past and a township, category or unit the district's register lacks."""
    register = register or load_register()
    problems: list[str] = []
    named: set[str] = set()
    report = None
    try:
        report = from_edge(IncidentReport, data)
    except ValidationError as err:
        problems = [format_validation_error("report", err)]
        named = {".".join(str(p) for p in e["loc"]) for e in err.errors()}
    raw = report.model_dump(mode="json") if report is not None else data
    codes, wrong = _register_codes(raw if isinstance(raw, dict) else {}, register, named)
    problems += wrong
    if problems or report is None:
        raise LinkageError("\n".join(problems))
    try:
        check_report_window(report, datetime.now(UTC))
    except ValueError as err:
        raise LinkageError(f"report: {err}") from None
    return _with_codes(report, codes)


def _register_codes(
    data: dict, register: Register, named: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, str], list[str]]:
    """The report's township, category and pushing unit as the register stores them, and a
    `report: field: Value error, …` line for each the register does not know (those a problem
    is named for already are left alone)."""
    location = data.get("location") if isinstance(data.get("location"), dict) else {}
    origin = data.get("origin") if isinstance(data.get("origin"), str) else None
    checks = {
        "location.township": (location.get("township"), lambda v: edge.township(v, register)),
        "category": (data.get("category") or None, edge.category),
        "originating_unit": (
            data.get("originating_unit"),
            lambda v: register.resolve(v, ORIGIN_KINDS[origin], "originating_unit").code,
        ),
    }
    if origin not in ORIGIN_KINDS:
        del checks["originating_unit"]  # which units may push depends on the origin
    codes: dict[str, str] = {}
    problems: list[str] = []
    for field, (value, check) in checks.items():
        if not isinstance(value, str) or field in named:
            continue
        try:
            codes[field] = check(value)
        except UnknownUnit as err:
            problems.append(f"report: {err}")
        except ValueError as err:
            problems.append(f"report: {field}: Value error, {err}")
    return codes, problems


def _with_codes(report: IncidentReport, codes: dict[str, str]) -> IncidentReport:
    location = report.location
    if "location.township" in codes:
        location = location.model_copy(update={"township": codes["location.township"]})
    update = {k: v for k, v in codes.items() if k != "location.township"}
    return report.model_copy(update={**update, "location": location})


def _with_register_codes(report: IncidentReport, register: Register) -> IncidentReport:
    """A report given as a model (trusted code): the same checks, the same stored values."""
    codes, problems = _register_codes(report.model_dump(mode="json"), register)
    if problems:
        raise LinkageError("\n".join(problems))
    return _with_codes(report, codes)


class DivertResult(SubmitAnswer):
    """Where a report landed, as the platform that pushed it sees it."""


class Diverting(ClientBase):
    async def divert(
        self, report: IncidentReport | dict, request_id: str | None = None
    ) -> DivertResult:
        """Hand a report to its own incident (Update-with-Start on `origin-reference`): it opens
        there, or joins the open incident it repeats; the same push again is counted once."""
        if not isinstance(report, IncidentReport):
            report = parse_report(report, self.register)
        else:
            report = _with_register_codes(report, self.register)
        request_id = request_id or f"divert-{uuid.uuid4().hex}"  # one ID for every attempt
        for attempt in range(SEND_ATTEMPTS):
            try:
                answer = await self._submit(report, request_id)
            except WorkflowAlreadyStartedError:
                return await self._closed(report)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                return await self._queued(report)
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == "Resent":
                    return DivertResult.model_validate(cause.details[0])  # the re-send's answer
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise LinkageError(f"report {report.incident_id} refused: {message}") from None
            except RPCError as err:
                if not transient(err) or attempt == SEND_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
                continue
            if answer.refused:
                raise LinkageError(f"report {report.incident_id} refused: {answer.refused}")
            return DivertResult(**answer.model_dump())
        raise AssertionError("unreachable")

    async def _submit(self, report: IncidentReport, request_id: str) -> SubmitAnswer:
        start = self._start(report)
        try:
            return await self.client.execute_update_with_start_workflow(
                "submit",
                Submission(report=report),
                id=request_id,
                start_workflow_operation=start,
                result_type=SubmitAnswer,
                rpc_timeout=answer_within(),
            )
        except Exception:
            # the start operation holds the same error: read here, it is not printed as
            # "Future exception was never retrieved" (with its traceback) when the loop ends
            with contextlib.suppress(Exception):
                await asyncio.wait_for(start.workflow_handle(), 1)
            raise

    def _start(self, report: IncidentReport) -> WithStartWorkflowOperation:
        """The incident's start, should the report be its first: no personal data in its
        search attributes or summary (those are never encrypted)."""
        receiver = report.origin.other
        where = f"{report.location.township} · {report.category or '待分类'}"
        return WithStartWorkflowOperation(
            INCIDENT_WORKFLOW,
            IncidentInput(report=report),
            id=report.incident_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # a run that failed (its report refused for its data) may be pushed again; an
            # incident that ended (closed, withdrawn, merged) never opens twice
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            task_queue=self.task_queue,
            result_type=IncidentSummary,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(INCIDENT, report.incident_id),
                    SearchAttributePair(KIND, "incident"),
                    SearchAttributePair(UNITS, [report.originating_unit]),
                    SearchAttributePair(ORIGIN, report.origin.value),
                    SearchAttributePair(TOWNSHIP, report.location.township),
                    SearchAttributePair(CATEGORY, report.category or "uncategorised"),
                    SearchAttributePair(OVERDUE, False),  # `LinkageOverdue = false` finds it
                ]
            ),
            static_summary=(
                f"{report.origin.label} → {receiver.label} · {where} · {report.reference}"
            ),
            static_details=(
                f"**紧急程度 urgency**: {report.urgency.value}\n\n"
                f"**推送单位 from**: {report.originating_unit}"
            ),
        )

    async def _queued(self, report: IncidentReport) -> DivertResult:
        """No worker answered in time; the report's incident was started all the same (a
        start is durable): it opens once a worker runs it. Said so, not left hanging."""
        try:
            await self._handle(report.incident_id).describe()
        except RPCError as err:
            raise NoAnswer(
                f"report {report.incident_id}: no answer in time and not started ({err}); "
                f"send it again"
            ) from None
        return DivertResult(incident_id=report.incident_id, new=False, queued=True)

    async def _closed(self, report: IncidentReport) -> DivertResult:
        """The incident of this reference has ended: nothing starts again. A report that had
        joined another incident answers with that one."""
        try:
            summary = await self._handle(report.incident_id).result()
        except Exception:  # failed or terminated
            summary = None
        if summary is not None and summary.merged_into:
            return DivertResult(
                incident_id=summary.merged_into, new=False, resent=True, matched_by="reference"
            )
        stage = summary.stage if summary is not None else None
        return DivertResult(incident_id=report.incident_id, new=False, closed=True, stage=stage)
