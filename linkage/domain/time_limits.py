"""The district's time-limit table (temporal-config/time-limits.toml): every deadline of the
two loops, the reviews, the whistle and the emergency notices, per urgency.

The table is read again whenever its file changes, so that every incident opens under the
version in force and carries it; a workflow never reads the file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from linkage.domain.contract import Contract, from_edge
from linkage.domain.models import Platform, Urgency
from linkage.domain.workdays import Limit, WorkCalendar, working_days
from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir


def _every_urgency(table: dict[Urgency, Any]) -> dict[Urgency, Any]:
    missing = [u.value for u in Urgency if u not in table]
    if missing:
        raise ValueError(f"needs a limit for every urgency; missing {', '.join(missing)}")
    if any(isinstance(v, float) and v <= 0 for v in table.values()):
        raise ValueError("every limit must be greater than zero")
    return table


UrgencyTable = Annotated[dict[Urgency, float], AfterValidator(_every_urgency)]
# a limit in hours, or in working days ("5wd", linkage.domain.workdays), per urgency
UrgencyLimits = Annotated[dict[Urgency, Limit], AfterValidator(_every_urgency)]
# A limit the same for every urgency, or one per urgency (routine / urgent / emergency).
ByUrgency = Limit | UrgencyLimits
Minutes = Annotated[float, Field(gt=0)] | UrgencyTable  # minutes, or minutes per urgency


def by_urgency(limit, urgency: Urgency | str):
    """The limit for an incident of this urgency (hours, working days or minutes)."""
    if isinstance(limit, dict):
        return limit[Urgency(urgency)]
    return limit


# Every deadline's name, as supervision intervals per deadline kind name them.
DEADLINE_NAMES = {
    "triage_review": "分诊复核",
    "sending_review": "推送审核",
    "resubmit": "补正",
    "receiving_review": "接收审核",
    "negotiation": "协商",
    "police_push": "分局审核",
    "command": "指令",
    "arrive": "到场",
    "feedback": "反馈",
    "dispatch": "派遣",
    "sign": "签收",
    "handle": "处置",
    "reply": "回复",
    "close": "结案",
    "revisit": "回访",
    "report_in": "应哨报到",
    "ack": "应急响应确认",
}


class ReviewLimits(Contract):
    triage_review_hours: Limit  # hours, or working days ("1wd")
    sending_review_required: list[Platform]

    @field_validator("sending_review_required")
    @classmethod
    def _police_pushes_are_reviewed(cls, value: list[Platform]) -> list[Platform]:
        # The safety floor's last line: nothing leaves 110 for 12345 without a person's look,
        # however sure triage is (the seed: 区公安分局经过审核后 … 转交区 12345 热线).
        if Platform.police not in value:
            raise ValueError(
                "must include police: the bureau reviews every push from 110 to 12345, so that "
                "no danger leaves 110 without a person's look"
            )
        return value

    sending_review_hours: Limit  # hours, or working days ("1wd")
    resubmit_hours: Limit  # hours, or working days ("1wd")
    receiving_review_hours: ByUrgency = Field(description="hours or working days, or per urgency")
    negotiation_hours: Limit  # hours, or working days ("1wd")
    negotiation_arbiters: list[str] = Field(
        default_factory=list,
        description="units (codes) whose officer may settle a dispute alone, above both sides",
    )
    # every cycle a person can repeat is bounded (a history must stay small for months)
    max_resubmits: int = Field(default=3, ge=0, description="a sent-back push revised again")
    max_proposals: int = Field(default=6, ge=1, description="owners proposed in one dispute")


class PoliceLimits(Contract):
    command_minutes: Minutes = Field(description="minutes, or minutes per urgency")
    arrive_minutes: UrgencyTable
    feedback_hours: Limit  # hours, or working days ("1wd")


class SupervisionLimits(Contract):
    """督办: repeated while a deadline stays missed, a bounded number of times."""

    every_hours: float = Field(gt=0)
    max_times: int = Field(ge=1, le=20)
    every_hours_by_deadline: dict[str, float] = Field(
        default_factory=dict,
        description="a deadline kind supervised at its own interval (ack = 0.25: every 15 min)",
    )
    # Through an outage of the records database a waiting write is tried again at most this
    # often (the server retries it: no history event an attempt); so an incident resumes this
    # soon after the database is back.
    records_retry_minutes: float = Field(default=5, gt=0, le=1440)

    @field_validator("every_hours_by_deadline")
    @classmethod
    def _known_deadlines(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEADLINE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown deadline(s) {', '.join(unknown)}; known: {', '.join(DEADLINE_NAMES)}"
            )
        if any(v <= 0 for v in value.values()):
            raise ValueError("every interval must be greater than zero")
        return value

    def every(self, deadline: str) -> float:
        """Hours between two supervisions of this deadline."""
        return self.every_hours_by_deadline.get(deadline, self.every_hours)


class HotlineLimits(Contract):
    dispatch_hours: Limit  # hours, or working days ("1wd")
    sign_hours: Limit  # hours, or working days ("1wd")
    max_returns: int = Field(ge=0)
    handle_hours: UrgencyLimits
    remind_before_hours: list[float]
    max_extension_hours: float = Field(gt=0)
    reply_hours: Limit  # hours, or working days ("1wd")
    close_hours: Limit  # hours, or working days ("1wd")
    revisit_hours: Limit  # hours, or working days ("1wd")
    revisit_attempts: int = Field(ge=1)
    max_reopens: int = Field(ge=0)
    max_rejections: int = Field(default=3, ge=0, description="feedback rejected (驳回)")
    max_extensions: int = Field(default=3, ge=0, description="extensions a unit may ask for")
    max_police_calls: int = Field(default=3, ge=1, description="派警联动 from one order")


class WhistleRule(Contract):
    enabled: bool = True
    summon: list[str] = Field(default_factory=list)
    threshold: int = Field(default=0, ge=0, description="for repeat_reports: reports needed")


WHISTLE_RULES = {
    "repeat_reports": "同一事项重复报警、高频诉求",
    "return_limit": "工单退单次数达到上限",
    "supervision_exhausted": "督办次数用完仍未办结",
    "joint_handling": "事项涉及多部门、多板块，会同处置",
    "delivery_failed": "推送无法送达对方平台，需人工处理",
    "record_refused": "记录写入被数据库拒绝，需人工核查",
}


class WhistleLimits(Contract):
    """“双哨”联处: how long summoned units have to report in, and the rules that blow it."""

    report_in_hours: Limit  # hours, or working days ("1wd")
    remind_before_hours: list[float]
    rules: dict[str, WhistleRule] = Field(default_factory=dict)
    max_whistles: int = Field(default=10, ge=1, description="whistles on one incident")
    max_joint_steps: int = Field(default=20, ge=1, description="plans and steps in one whistle")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, WhistleRule]) -> dict[str, WhistleRule]:
        unknown = sorted(set(rules) - set(WHISTLE_RULES))
        if unknown:
            raise ValueError(
                f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(WHISTLE_RULES)}"
            )
        return rules


class EmergencyLimits(Contract):
    """应急联动: the emergency units, which categories notify them, and how fast they answer."""

    ack_minutes: Minutes = Field(description="minutes, or minutes per urgency")
    units: dict[str, str] = Field(
        min_length=1, description="code = name; the district's file lists the register's codes"
    )
    categories: dict[str, list[str]] = Field(default_factory=dict)
    max_linkages: int = Field(default=5, ge=1, description="emergency linkages on one incident")

    @field_validator("units", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        """The file lists codes; the names come from the register (units.toml)."""
        if isinstance(value, list):
            return {str(code): str(code) for code in value}
        return value

    @model_validator(mode="after")
    def _known_units(self) -> EmergencyLimits:
        for category, codes in self.categories.items():
            unknown = [c for c in codes if c not in self.units]
            if unknown:
                raise ValueError(
                    f"categories.{category}: unknown unit(s) {', '.join(unknown)}; "
                    f"units are {', '.join(self.units)}"
                )
        return self


class IntakeLimits(Contract):
    """受理登记: when a report joins an open incident, and when a caller abuses the lines."""

    repeat_window_hours: float = Field(gt=0)
    harassment_reports: int = Field(ge=2)
    harassment_window_hours: float = Field(gt=0)
    max_pushes: int = Field(default=50, ge=1, description="changed pushes of one reference")


class TimeLimits(Contract):
    """The district's time-limit table (temporal-config/time-limits.toml)."""

    version: str
    review: ReviewLimits
    supervision: SupervisionLimits
    police: PoliceLimits
    hotline: HotlineLimits
    whistle: WhistleLimits
    emergency: EmergencyLimits
    intake: IntakeLimits
    # the working calendar, recorded when the incident opens if any limit is in working days
    calendar: WorkCalendar | None = None

    def uses_working_days(self) -> bool:
        """Whether any limit of the table is written in working days."""
        limits = (self.review, self.police, self.hotline, self.whistle)
        values = [v for part in limits for v in part.model_dump().values()]
        values += list(self.hotline.handle_hours.values())
        return any(isinstance(v, str) and working_days(v) is not None for v in values)


_LOADED: dict[tuple[Path, int, int], TimeLimits] = {}


def load_time_limits(path: Path | None = None) -> TimeLimits:
    """The table as the file stands now: read again whenever the file changes (every incident
    opens under the version in force), and validated only then."""
    path = path or config_dir() / "time-limits.toml"
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _read_time_limits(path)
    return _LOADED[key].model_copy(deep=True)


def _read_time_limits(path: Path) -> TimeLimits:
    try:
        # TimeLimits crosses Temporal, so it ignores unknown keys when a history decodes; in the
        # district's file an unknown key is a mistake (a misspelt limit), named and refused.
        return from_edge(TimeLimits, read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err
