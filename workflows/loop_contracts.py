"""The loops' contracts: inputs, states and results of PoliceLoop, HotlineLoop, Whistle and
EmergencyLinkage. Each loop is handed only its own part of the time-limit table.

Like workflows.contracts, free of workflow, database and HTTP imports, tolerant of unknown
fields, and every new field has a default.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from linkage.domain.actions import ExtendAction
from linkage.domain.contract import Contract
from linkage.domain.models import (
    Actor,
    DeadlineView,
    Satisfaction,
    Stage,
    TimelineEntry,
    Urgency,
    WorkItem,
)
from linkage.domain.time_limits import HotlineLimits, PoliceLimits, SupervisionLimits
from linkage.domain.workdays import Limit, WorkCalendar


class LoopState(Contract):
    """What every loop's state says beside its own fields."""

    overdue: bool = False
    told_incident: int = 0  # signals sent up to the incident so far
    incident_stage: Stage | None = None  # filled in by the client once the incident caught up
    deadlines: list[DeadlineView] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- the police loop (接警 → 指令 → 处置 → 反馈) -------------------------------------------------


class PoliceStep(StrEnum):
    receive = "receive"  # 接警
    command = "command"  # 指令
    handle = "handle"  # 处置 (arrive, then handle)
    done = "done"  # 反馈 given: closed


POLICE_STEP_LABELS = {
    PoliceStep.receive: "接警",
    PoliceStep.command: "指令",
    PoliceStep.handle: "处置",
    PoliceStep.done: "已反馈",
}


class PoliceLoopInput(Contract):
    incident_id: str
    case_no: str
    urgency: Urgency
    township: str
    brief: str
    limits: PoliceLimits
    supervision: SupervisionLimits
    suggested_unit: str = ""  # where triage routed it (the township's station …)
    suggested_unit_name: str = ""  # its name in the register
    calendar: WorkCalendar | None = None  # the incident's, for limits in working days


class PoliceLoopState(LoopState):
    case_no: str
    step: PoliceStep
    unit: str
    suggested_unit: str = ""
    arrived: bool
    feedback: str
    arrive_missed: bool
    feedback_missed: bool
    command_missed: bool = False


class PoliceLoopResult(Contract):
    case_no: str
    unit: str
    completed: bool
    on_time: bool
    feedback: str
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- the 12345 loop (受理 → 派遣 → 处置 → 反馈 → 回复 → 结案 → 回访) ------------------------------


class HotlineStep(StrEnum):
    accept = "accept"  # 受理
    dispatch = "dispatch"  # 派遣
    sign = "sign"  # 签收
    handle = "handle"  # 处置
    reply = "reply"  # 回复
    close = "close"  # 结案
    revisit = "revisit"  # 回访
    done = "done"  # 闭环


HOTLINE_STEP_LABELS = {
    HotlineStep.accept: "受理",
    HotlineStep.dispatch: "派遣",
    HotlineStep.sign: "签收",
    HotlineStep.handle: "处置",
    HotlineStep.reply: "回复",
    HotlineStep.close: "结案",
    HotlineStep.revisit: "回访",
    HotlineStep.done: "闭环",
}


class HotlineLoopInput(Contract):
    incident_id: str
    order_no: str
    urgency: Urgency
    township: str
    brief: str  # what the unit is asked to handle
    notify_police: bool  # police sent it, or are on it: replies reach them too
    limits: HotlineLimits
    supervision: SupervisionLimits
    suggested_unit: str = ""  # where triage routed it (a department or the township)
    suggested_unit_name: str = ""  # its name in the register
    calendar: WorkCalendar | None = None  # the incident's, for limits in working days


class HotlineLoopState(LoopState):
    order_no: str
    step: HotlineStep
    unit: str
    suggested_unit: str
    returns: int
    final_dispatch: bool  # the return limit is reached: the unit must take it
    reopens: int
    pending_extension: ExtendAction | None
    feedback: str
    reply: str
    revisit_attempts: int
    satisfaction: Satisfaction | None
    sign_late: bool
    handle_missed: bool


class HotlineLoopResult(Contract):
    order_no: str
    unit: str
    completed: bool
    on_time: bool
    satisfaction: Satisfaction
    returns: int
    reopens: int
    feedback: str
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- the whistle (“双哨”联处) ---------------------------------------------------------------


class WhistleInput(Contract):
    incident_id: str
    number: int
    blower: Actor | None  # None: blown by a rule
    rule: str = ""
    reason: str
    units: list[str]
    unit_names: dict[str, str] = {}  # the register's names of the units, for people to read
    report_in_hours: Limit  # hours, or working days ("1wd")
    remind_before_hours: list[float]
    supervision: SupervisionLimits
    calendar: WorkCalendar | None = None  # the incident's, for limits in working days
    max_joint_steps: int = 20  # plans and steps in it: a history stays small


class WhistleState(LoopState):
    number: int
    reason: str
    blown_by: str
    units: list[str]
    reported: dict[str, datetime]
    late: list[str]
    closed: bool


class WhistleResult(Contract):
    number: int
    reason: str
    blown_by: str
    units: list[str]
    on_time: list[str]
    late: list[str]
    missed: list[str]  # never reported in
    closed_by: str
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- emergency linkage (应急联动) -----------------------------------------------------------


class EmergencyInput(Contract):
    incident_id: str
    number: int
    units: dict[str, str]  # code → name
    reason: str
    ack_minutes: float
    supervision: SupervisionLimits
    payload: dict[str, Any]


class EmergencyState(LoopState):
    number: int
    units: dict[str, str]
    acknowledged: dict[str, datetime]


class EmergencyResult(Contract):
    number: int
    units: dict[str, str]
    acknowledged: dict[str, datetime]
    unacknowledged: list[str]
    late: list[str] = Field(default_factory=list)  # acknowledged after the limit
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- what a loop tells its incident (signals between workflows) -------------------------------

RULE_TRIGGERED = "rule_triggered"
POLICE_LINKAGE = "police_linkage"
POLICE_PUSH = "police_push"
LATE_SIGNAL = "loop_late"  # a loop, whistle or notice tells its incident what it has late now


class LateNotice(Contract):
    """What a child workflow has late now (its missed deadlines not yet met); empty once met."""

    workflow_id: str
    items: list[WorkItem] = Field(default_factory=list)


class RuleEvent(Contract):
    """A whistle rule applies (temporal-config/time-limits.toml, [whistle.rules])."""

    rule: str
    units: list[str]  # the units it is about; the rule's own list is summoned too
    note: str = ""
    loop: str = ""  # the workflow ID of the loop that tells it


class PoliceLinkageCall(Contract):
    """A 12345 unit called police to the scene (派警联动)."""

    unit: str
    reason: str
    loop: str = ""


class PolicePushCall(Contract):
    """A police unit pushes the case it handles to the bureau (推送分局审核)."""

    unit: str
    reason: str
    loop: str = ""
