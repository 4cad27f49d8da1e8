"""Messages a loop sends up to its incident (signals between workflows)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

RULE_TRIGGERED = "rule_triggered"
POLICE_LINKAGE = "police_linkage"
POLICE_PUSH = "police_push"


class RuleEvent(BaseModel):
    """A whistle rule applies (temporal-config/time-limits.toml, [whistle.rules])."""

    rule: str
    units: list[str]  # the units it is about; the rule's own list is summoned too
    note: str = ""


class PolicePush(BaseModel):
    """A police unit pushes the case it handles to the bureau for diversion to 12345."""

    unit: str
    reason: str


class PoliceLinkageCall(BaseModel):
    """A 12345 unit called police to the scene (派警联动)."""

    unit: str
    reason: str


async def tell_incident(signal: str, message: BaseModel) -> None:
    """Signal the parent incident from one of its child workflows."""
    parent = workflow.info().parent
    if parent is not None:
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(signal, message)


async def supervision_exhausted(units: list[str], note: str) -> None:
    """Tell the incident that a deadline stays missed after its last supervision (督办无果)."""
    await tell_incident(
        RULE_TRIGGERED, RuleEvent(rule="supervision_exhausted", units=units, note=note)
    )
