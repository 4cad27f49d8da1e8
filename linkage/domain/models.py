"""The data both platforms exchange, and the inputs and outputs of every workflow and activity.

Everything that crosses the Temporal boundary is a pydantic model, so that a bad report is
refused at the edge with the field and the problem named, and so that workflows replay the
same typed values they were given.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    field_validator,
)

from linkage.domain.contract import Contract
from linkage.domain.text import IdNumber, Line, Phone, Text


class Platform(StrEnum):
    """The two platforms that hand incidents to each other."""

    police = "police"  # 110 报警服务台 / 接处警平台
    hotline = "hotline"  # 12345 政务服务便民热线

    @property
    def other(self) -> Platform:
        return Platform.hotline if self is Platform.police else Platform.police

    @property
    def label(self) -> str:
        return "110 平台 police" if self is Platform.police else "12345 热线 hotline"


class Owner(StrEnum):
    """Who handles an incident once review and negotiation are over."""

    police = "police"
    hotline = "hotline"
    joint = "joint"  # 会同处置: both loops at once


class Urgency(StrEnum):
    routine = "routine"  # 一般
    urgent = "urgent"  # 紧急
    emergency = "emergency"  # 特急


class Role(StrEnum):
    """The parties who act on an incident; each action says which role may take it."""

    police_bureau = "police_bureau"  # 区公安分局 (and its 110 dispatch desk)
    police_unit = "police_unit"  # 派出所 / 警种部门
    command_center = "command_center"  # 区集成指挥中心 (12345)
    member_unit = "member_unit"  # 成员单位 / 职能部门 / 镇（街道）
    emergency_unit = "emergency_unit"  # 应急联动成员单位: 119, 120, 水电油气热
    linkage_desk = "linkage_desk"  # 对接联动专席: decides what triage leaves open


class Stage(StrEnum):
    """Where a diverted incident stands; searchable as LinkageStage."""

    triage_review = "triage_review"  # 分诊复核 at the linkage desk
    sending_review = "sending_review"  # 推送审核
    sent_back = "sent_back"  # 退回补正
    receiving_review = "receiving_review"  # 接收审核
    negotiation = "negotiation"  # 异议协商
    handling = "handling"  # 处置中
    pushing_back = "pushing_back"  # 结果回推
    closed = "closed"  # 已办结
    withdrawn = "withdrawn"  # 撤回（留原平台）
    merged = "merged"  # 并入: a repeat report that joined another open incident


STAGE_LABELS: dict[Stage, str] = {
    Stage.triage_review: "分诊复核",
    Stage.sending_review: "推送审核",
    Stage.sent_back: "退回补正",
    Stage.receiving_review: "接收审核",
    Stage.negotiation: "异议协商",
    Stage.handling: "处置中",
    Stage.pushing_back: "结果回推",
    Stage.closed: "已办结",
    Stage.withdrawn: "已撤回",
    Stage.merged: "已并入",
}


class Satisfaction(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意
    not_revisited = "not_revisited"  # 未回访（联系不上）


class RevisitOutcome(StrEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    dissatisfied = "dissatisfied"
    unreachable = "unreachable"  # 联系不上


class Caller(Contract):
    """The person who called. Kept in the records; masked in every log line."""

    name: Line = Field(default="", max_length=64)
    phone: Phone = Field(
        min_length=5, max_length=20, description="stored as digits only, without +86"
    )
    id_number: IdNumber = Field(default="", max_length=32)


class Location(Contract):
    address: Line = Field(min_length=2, max_length=200)
    township: Line = Field(min_length=2, max_length=40, description="镇（街道）或板块")


def _iso_time(value: Any) -> Any:
    """An ISO 8601 text or a datetime; a number is refused rather than read as seconds since
    1970, and so is a text of digits alone."""
    if isinstance(value, bool | int | float):
        raise ValueError(
            "must be an ISO 8601 time with its offset, e.g. 2026-11-29T09:30:00+08:00, not a number"
        )
    if isinstance(value, str) and not _ISO_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 time with its offset, e.g. 2026-11-29T09:30:00+08:00")
    return value


_ISO_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")

IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]


class IncidentReport(Contract):
    """One push from a platform: the data elements both platforms agreed to exchange.

    Only rules that hold whatever the day are checked here: Temporal decodes a report again
    whenever it replays a history. Whether `received_at` is plausibly recent is checked where
    the report arrives (`check_report_window`).
    """

    origin: Platform = Field(description="the platform that first received the call (首接平台)")
    reference: Line = Field(
        min_length=3,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
        description="the origin platform's own case or order number",
    )
    received_at: IsoTime = Field(
        description="when the origin platform received the call, with its offset"
    )
    caller: Caller
    location: Location
    description: Text = Field(min_length=4, max_length=4000)
    divert_reason: Text = Field(min_length=2, max_length=500, description="推送原因")
    urgency: Urgency = Urgency.routine
    originating_unit: Line = Field(min_length=2, max_length=80, description="the unit that pushes")
    category: Line = Field(default="", max_length=40, description="联动事项大类, if known")
    joint: StrictBool = Field(default=False, description="needs both sides at once (会同处置)")
    confidential: StrictBool = Field(
        default=False,
        description="保密: the caller asked not to be named; no handling unit sees the caller",
    )

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a time zone, e.g. 2026-11-29T09:30:00+08:00")
        return value

    @property
    def incident_id(self) -> str:
        return incident_id_for(self.origin, self.reference)


# How far from now a report's received_at may be when it arrives; checked at the edge only.
REPORT_FUTURE_SLACK = timedelta(minutes=10)
REPORT_MAX_AGE = timedelta(days=90)


def check_report_window(report: IncidentReport, now: datetime) -> None:
    """Refuse a report received (by its own account) in the future or too long ago.

    Call it where a report arrives, never in a validator: a history replayed weeks later would
    otherwise no longer decode.
    """
    at = report.received_at
    if at > now + REPORT_FUTURE_SLACK:
        raise ValueError(
            f"received_at: {at.isoformat()} is in the future (now {now.isoformat()}); "
            f"check the clock and the offset"
        )
    if at < now - REPORT_MAX_AGE:
        raise ValueError(
            f"received_at: {at.isoformat()} is more than {REPORT_MAX_AGE.days} days ago; "
            f"an old case is not diverted"
        )


def incident_id_for(origin: Platform | str, reference: str) -> str:
    """The workflow ID: one per origin platform and reference, so a repeated push finds it."""
    return f"{Platform(origin).value}-{reference}"


class Actor(Contract):
    """Who takes an action: a role, the unit they act for, and the person."""

    role: Role
    unit: Line = Field(
        min_length=2, max_length=80, description="the unit's code in the register (units.toml)"
    )
    person: Line = Field(default="", max_length=40)
    unit_name: Line = Field(
        default="", max_length=80, description="the unit's full name, filled in from the register"
    )

    def __str__(self) -> str:
        unit = self.unit_name or self.unit
        who = f"{unit}/{self.person}" if self.person else unit
        return f"{self.role.value}:{who}"

    def acts_for(self, unit: str) -> bool:
        """Whether the actor acts for `unit`: its code, or (for an incident opened before the
        register) the name it was stored under."""
        return unit in (self.unit, self.unit_name)


class TimelineEntry(Contract):
    """One step event: who did what, when, with a note. The audit trail both sides read."""

    at: datetime
    loop: str  # incident | police | hotline
    step: str
    action: str
    actor: str = "system"
    note: str = ""
    unit: str = ""  # the unit the step counts for or against (双考核); "" for the platforms'


class DeadlineView(Contract):
    """A running deadline as the status shows it."""

    name: str
    label: str
    at: datetime
    missed: bool
    supervisions: int


# The register's codes of the desks a stage waits on (units.toml must have them, of these kinds).
DESKS = {
    "hotline.command": "command_center",  # 区集成指挥中心: 12345's receiving review, its loop
    "police.command": "command_center",  # 区公安分局指挥中心: 110's receiving review, command
    "police.bureau": "bureau",  # 区公安分局: reviews a station's push
    "desk.linkage": "desk",  # 对接联动专席: decides what triage leaves open
}
CENTRE_OF = {Platform.hotline: "hotline.command", Platform.police: "police.command"}


class WorkItem(Contract):
    """Something a unit must do on an incident now (a work queue's row): the step, by when,
    and whether that time has passed and how often it has been supervised since."""

    units: list[str]  # the units' codes (several: a whistle's units yet to report in)
    loop: str  # incident | police | hotline | whistle | emergency
    step: str  # the deadline's name: sign, handle, command, report_in, ack, receiving_review …
    label: str
    due: datetime | None = None
    missed: bool = False
    supervisions: int = 0
    workflow_id: str = ""
