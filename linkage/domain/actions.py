"""What the parties do to an incident: one payload model per workflow update.

Every model carries the actor, so that a workflow's validator can refuse an action taken by the
wrong party (a unit acting on an order not dispatched to it) before anything changes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat

from linkage.domain.catalogue import Direction
from linkage.domain.contract import Contract
from linkage.domain.models import Actor, Owner, RevisitOutcome
from linkage.domain.text import Line, Text

# Hours are numbers, never text ("2") or a bool; and finite.
Hours = Annotated[StrictFloat, Field(allow_inf_nan=False)]


class Action(Contract):
    """Free text (notes, reasons, results, messages) may span lines; names and units may not.
    No text field takes a control character."""

    actor: Actor
    note: Text = Field(default="", max_length=1000)
    request_id: Line = Field(
        default="", max_length=80, description="the same request applied twice is applied once"
    )


# --- the incident (parent) -------------------------------------------------------------------


class TriageDecisionAction(Action):
    """The linkage desk decides the direction (and, if triage got it wrong, the catalogue item)
    of an incident triage left open, or overrides it; always with who and why."""

    direction: Direction
    subcategory: Line = Field(default="", max_length=40, description="code or name, e.g. H02.07")
    reason: Text = Field(min_length=2, max_length=500)


class ReviewAction(Action):
    """Sending-side review (审核): the bureau approves a station's push or sends it back."""

    approve: StrictBool
    reason: Text = Field(default="", max_length=500)


class ResubmitAction(Action):
    """After a send-back: push again with a better reason, or withdraw and keep the case."""

    withdraw: StrictBool = False
    divert_reason: Text = Field(default="", max_length=500)


class ReceiveAction(Action):
    """Receiving-side review: accept the push, or dispute it with a reason (异议)."""

    accept: StrictBool
    reason: Text = Field(default="", max_length=500)


class SettleAction(Action):
    """The outcome of negotiation (协商): who handles it."""

    owner: Owner


# --- the police loop -------------------------------------------------------------------------


class CommandAction(Action):
    """110 commands a police unit to the scene (指令); no unit: the one triage routed it to."""

    unit: Line = Field(default="", max_length=80)
    unit_name: str = Field(default="", max_length=80)  # the register's, set by the client


class ArriveAction(Action):
    """The commanded unit reports arrival on the scene."""


class PoliceFeedbackAction(Action):
    """The unit reports what it did (反馈)."""

    result: Text = Field(min_length=2, max_length=2000)


# --- the hotline loop ------------------------------------------------------------------------


class DispatchAction(Action):
    """The command centre dispatches the order to a unit (派遣); no unit: triage's route, on
    the first dispatch only (after a return the centre names the unit)."""

    unit: Line = Field(default="", max_length=80)
    unit_name: str = Field(default="", max_length=80)  # the register's, set by the client


class SignAction(Action):
    """The unit acknowledges the order (签收)."""


class ReturnAction(Action):
    """The unit sends the order back as not its own (退单)."""

    reason: Text = Field(min_length=2, max_length=500)


class ExtendAction(Action):
    """The unit asks for more time (延期申请)."""

    hours: Hours = Field(gt=0, le=24 * 90)
    reason: Text = Field(min_length=2, max_length=500)


class ExtensionDecision(Action):
    """The command centre approves or refuses a pending extension request."""

    approve: StrictBool


class FeedbackAction(Action):
    """The unit reports its handling (办结反馈)."""

    result: Text = Field(min_length=2, max_length=2000)


class ReplyAction(Action):
    """The command centre replies to the citizen (回复)."""

    message: Text = Field(min_length=2, max_length=1000)


class CloseAction(Action):
    """The command centre closes the order (结案) or rejects the feedback back to handling."""

    accept: StrictBool
    reason: Text = Field(default="", max_length=500)


class RevisitAction(Action):
    """The outcome of a revisit call to the citizen (回访)."""

    outcome: RevisitOutcome


# --- the whistle (“双哨”联处) and police linkage ----------------------------------------------


class WhistleCall(Contract):
    """A duty officer blows the whistle (吹哨): a signal, so it never waits on the workflow."""

    actor: Actor
    reason: Text = Field(min_length=2, max_length=500)
    units: list[Annotated[Line, Field(min_length=1, max_length=80)]] = Field(
        min_length=1, max_length=20
    )
    deadline_hours: Hours | None = Field(default=None, gt=0, le=72)
    request_id: Line = Field(default="", max_length=80)


class ReportInAction(Action):
    """A summoned unit reports in (应哨报到)."""


class JointStepAction(Action):
    """A step of the joint plan or the joint handling, recorded on the whistle."""

    kind: Literal["plan", "handling"]


class CloseWhistleAction(Action):
    """The officer who blew the whistle closes it."""


class PoliceLinkageAction(Action):
    """A unit handling a 12345 order calls police to the scene (派警联动)."""

    reason: Text = Field(min_length=2, max_length=500)


class EmergencyLinkageAction(Action):
    """A duty officer links emergency units to the incident (应急联动), by their codes."""

    units: list[Annotated[Line, Field(min_length=1, max_length=80)]] = Field(
        min_length=1, max_length=20
    )


class AcknowledgeAction(Action):
    """An emergency unit acknowledges its notice; actor.unit is the unit's code (119, gas …)."""


class PolicePushAction(Action):
    """Police handling a case find it is not theirs, or needs other departments: they push it,
    with a reason, to the bureau for review and diversion (推送分局审核)."""

    reason: Text = Field(min_length=2, max_length=500)
