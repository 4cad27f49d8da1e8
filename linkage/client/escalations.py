"""Escalations as the client reaches them: blowing the whistle on an incident, and finding the
whistle or emergency linkage an action is for."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from linkage.client.errors import ActionRefused, LinkageError, NoAnswer, answer_within
from linkage.client.status import Status, check_incident_id
from linkage.domain import actions as act
from linkage.domain.contract import from_edge
from linkage.domain.models import STAGE_LABELS, Role
from linkage.settings.config import format_validation_error
from workflows.contracts import IncidentState

# an action's fields no caller sends: the principal is the actor; names come from the register
SET_BY_SYSTEM = {"actor", "unit_name"}


class Escalations(Status):
    async def whistle(self, incident_id: str, call: act.WhistleCall | dict) -> IncidentState:
        """Blow the whistle on an open incident: an update, answered with the state it led to
        (the whistle it started) or refused with the reason."""
        check_incident_id(incident_id, "whistle")
        try:
            call = from_edge(act.WhistleCall, call, SET_BY_SYSTEM)
        except ValidationError as err:
            raise LinkageError(format_validation_error("whistle", err)) from None
        call = self._with_unit_codes("whistle", call)
        if not call.request_id:
            call = call.model_copy(update={"request_id": f"whistle-{uuid.uuid4().hex}"})
        try:
            state = await self._handle(incident_id).execute_update(
                "whistle",
                call,
                id=call.request_id,
                result_type=IncidentState,
                rpc_timeout=answer_within(),
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ActionRefused(f"whistle refused: {self.humanize(message)}") from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise NoAnswer(
                f"whistle: no answer from {incident_id} within "
                f"{answer_within().total_seconds():g} s (is a worker running?); it may still be "
                f"blown: send it again with request_id {call.request_id}"
            ) from None
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            status = await self.status(incident_id)  # unknown: raised there
            raise ActionRefused(
                f"whistle refused: incident {incident_id} is already "
                f"{STAGE_LABELS[status.stage]} ({status.stage.value})"
            ) from None
        return self._named(state)

    async def _whistle_for(
        self, incident_id: str, action: str, unit: str, number: int | None
    ) -> str:
        status = await self.status(incident_id)
        whistles = status.incident.whistles if status.incident else []
        if number is not None:
            if not any(w.number == number for w in whistles):
                raise ActionRefused(
                    f"{action} refused: incident {incident_id} has no whistle #{number}"
                )
            return f"{incident_id}.whistle-{number}"
        open_ones = [w for w in whistles if not w.closed]
        if not open_ones:
            raise ActionRefused(f"{action} refused: incident {incident_id} has no open whistle")
        summoned = [w for w in open_ones if unit in w.units]
        return (summoned or open_ones)[-1].workflow_id

    async def _emergency_for(self, incident_id: str, action: str, actor) -> str:
        if actor.role is not Role.emergency_unit:
            raise ActionRefused(
                f"{action} refused: this action is for emergency_unit, not {actor.role.value}"
            )
        status = await self.status(incident_id)
        linked = status.incident.emergencies if status.incident else []
        open_ones = [e for e in linked if not e.closed]
        waiting = [e for e in open_ones if actor.unit in e.units]
        if not waiting:
            notified = sorted({self.register.name_of(u) for e in open_ones for u in e.units})
            raise ActionRefused(
                f"{action} refused: incident {incident_id} has no open emergency linkage that "
                f"notified {actor.unit_name or actor.unit} ({actor.unit})"
                + (f"; notified: {'、'.join(notified)}" if notified else "")
            )
        return waiting[-1].workflow_id
