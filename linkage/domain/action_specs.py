"""The parties' actions as the CLI and the client name them, each mapped onto a workflow update:
which workflow takes it, with which payload model, and the help a person reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkage.domain import actions as act
from linkage.domain.models import Role

ROLE_NAMES = {
    Role.police_bureau: "区公安分局 / 110",
    Role.police_unit: "派出所 / 警种",
    Role.command_center: "区集成指挥中心",
    Role.member_unit: "成员单位 / 镇（街道）",
    Role.emergency_unit: "应急联动单位 119, 120, 水电油气热",
    Role.linkage_desk: "对接联动专席",
}


def roles(*allowed: Role, then: str = "") -> str:
    """`command_center (区集成指挥中心)`, several joined by `or`; `then` narrows it down."""
    text = " or ".join(f"{r.value} ({ROLE_NAMES[r]})" for r in allowed)
    return f"{text}, {then}" if then else text


def by_side(police: tuple[Role, ...], hotline: tuple[Role, ...], push: str) -> str:
    """Roles that depend on which platform pushed: `push` is sending or receiving."""
    first, second = (police, hotline) if push == "sending" else (hotline, police)
    return f"{roles(*first)} for a 110 push, {roles(*second)} for a 12345 push"


REVIEWERS = (Role.police_bureau,), (Role.command_center,)
SENDERS = (Role.police_unit, Role.police_bureau), (Role.member_unit, Role.command_center)


@dataclass(frozen=True)
class ActionSpec:
    """How a CLI action maps onto a workflow update."""

    loop: str  # incident | police | hotline | by_role (feedback: the actor's side decides)
    update: str
    model: type[act.Action]
    fixed: dict[str, Any] = field(default_factory=dict)
    help: str = ""
    who: str = ""  # the roles the workflow's validator lets take it
    needs: tuple[str, ...] = ()  # fields the workflow refuses without, beyond the model's own


ACTIONS: dict[str, ActionSpec] = {
    "triage-decide": ActionSpec(
        "incident",
        "decide_triage",
        act.TriageDecisionAction,
        {},
        "linkage desk decides or overrides triage: --direction police|hotline|both "
        "[--subcategory CODE] --reason (分诊复核/改判)",
        who=roles(Role.linkage_desk),
    ),
    "review": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a station's push (审核通过)",
        who=by_side(*REVIEWERS, "sending"),
    ),
    "send-back": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a push back with --reason (退回)",
        who=by_side(*REVIEWERS, "sending"),
        needs=("reason",),
    ),
    "resubmit": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": False},
        "push again with a revised --divert-reason (补正)",
        who=by_side(*SENDERS, "sending"),
        needs=("divert_reason",),
    ),
    "withdraw": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": True},
        "withdraw a sent-back push; the origin keeps it (撤回)",
        who=by_side(*SENDERS, "sending"),
    ),
    "accept": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": True},
        "receiving side accepts the push (接收)",
        who=by_side(*REVIEWERS, "receiving"),
    ),
    "dispute": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": False},
        "receiving side disputes with --reason (异议)",
        who=by_side(*REVIEWERS, "receiving"),
        needs=("reason",),
    ),
    "settle": ActionSpec(
        "incident",
        "settle",
        act.SettleAction,
        {},
        "each side proposes --owner police|hotline|joint; settled when both agree, or an "
        "arbiter (time-limits.toml review.negotiation_arbiters) decides (协商)",
        who=roles(Role.police_bureau, Role.command_center, Role.linkage_desk),
    ),
    "command": ActionSpec(
        "police",
        "command",
        act.CommandAction,
        {},
        "110 commands --unit to the scene (指令)",
        who=roles(Role.police_bureau),
    ),
    "arrive": ActionSpec(
        "police",
        "arrive",
        act.ArriveAction,
        {},
        "police unit on the scene",
        who=roles(Role.police_unit, then="the unit commanded"),
    ),
    "dispatch": ActionSpec(
        "hotline",
        "dispatch",
        act.DispatchAction,
        {},
        "centre dispatches the order to --unit (派遣)",
        who=roles(Role.command_center),
    ),
    "sign": ActionSpec(
        "hotline",
        "sign",
        act.SignAction,
        {},
        "unit signs for the order (签收)",
        who=roles(Role.member_unit, then="the unit the order is dispatched to"),
    ),
    "return": ActionSpec(
        "hotline",
        "return",
        act.ReturnAction,
        {},
        "unit returns the order with --reason (退单)",
        who=roles(Role.member_unit, then="the unit the order is dispatched to"),
    ),
    "extend": ActionSpec(
        "hotline",
        "extend",
        act.ExtendAction,
        {},
        "unit asks for --hours more with --reason (延期)",
        who=roles(Role.member_unit, then="the unit the order is dispatched to"),
    ),
    "approve-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": True},
        "centre approves the extension",
        who=roles(Role.command_center),
    ),
    "refuse-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": False},
        "centre refuses the extension",
        who=roles(Role.command_center),
    ),
    "feedback": ActionSpec(
        "by_role",
        "feedback",
        act.FeedbackAction,
        {},
        "handling unit reports --result (反馈); police or 12345 by role",
        who=roles(Role.police_unit, Role.member_unit, then="the unit commanded or dispatched to"),
    ),
    "reply": ActionSpec(
        "hotline",
        "reply",
        act.ReplyAction,
        {},
        "centre replies --message to the citizen (回复)",
        who=roles(Role.command_center),
    ),
    "close": ActionSpec(
        "hotline",
        "close",
        act.CloseAction,
        {"accept": True},
        "centre closes the order (结案)",
        who=roles(Role.command_center),
    ),
    "reject": ActionSpec(
        "hotline",
        "close",
        act.CloseAction,
        {"accept": False},
        "centre rejects the feedback with --reason (驳回重办)",
        who=roles(Role.command_center),
        needs=("reason",),
    ),
    "revisit": ActionSpec(
        "hotline",
        "revisit",
        act.RevisitAction,
        {},
        "revisit --outcome satisfied|basically_satisfied|dissatisfied|unreachable (回访)",
        who=roles(Role.command_center),
    ),
    "push-to-bureau": ActionSpec(
        "police",
        "push_to_bureau",
        act.PolicePushAction,
        {},
        "police unit pushes the case it handles to the bureau with --reason (推送分局)",
        who=roles(Role.police_unit, then="the unit commanded"),
    ),
    "approve-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a police push during handling; 12345 joins",
        who=roles(Role.police_bureau),
    ),
    "refuse-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a police push back with --reason",
        who=roles(Role.police_bureau),
        needs=("reason",),
    ),
    "police-linkage": ActionSpec(
        "hotline",
        "call_police",
        act.PoliceLinkageAction,
        {},
        "handling unit calls police to the scene with --reason (派警联动)",
        who=roles(Role.member_unit, then="the unit the order is dispatched to"),
    ),
    "report-in": ActionSpec(
        "whistle",
        "report_in",
        act.ReportInAction,
        {},
        "a summoned unit reports in (应哨报到)",
        who="any unit the whistle summoned (--as ROLE:UNIT with that unit)",
    ),
    "whistle-plan": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "plan"},
        "record the joint plan on the whistle, in --note (联合处置方案)",
        who=roles(Role.police_bureau, Role.command_center, then="a duty officer")
        + ", or a unit the whistle summoned",
        needs=("note",),
    ),
    "whistle-handle": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "handling"},
        "record a step of the joint handling, in --note (联合处置)",
        who=roles(Role.police_bureau, Role.command_center, then="a duty officer")
        + ", or a unit the whistle summoned",
        needs=("note",),
    ),
    "close-whistle": ActionSpec(
        "whistle",
        "close",
        act.CloseWhistleAction,
        {},
        "the officer who blew it closes it",
        who="whoever blew the whistle; a rule's whistle: "
        + roles(Role.police_bureau, Role.command_center),
    ),
    "emergency-linkage": ActionSpec(
        "incident",
        "link_emergency",
        act.EmergencyLinkageAction,
        {},
        "notify emergency units --units 119,120,gas … at once (应急联动)",
        who=roles(Role.police_bureau, Role.command_center),
    ),
    "acknowledge": ActionSpec(
        "emergency",
        "acknowledge",
        act.AcknowledgeAction,
        {},
        "an emergency unit (--as emergency_unit:CODE) acknowledges its notice",
        who=roles(
            Role.emergency_unit, then="by the code of a unit notified, e.g. emergency_unit:120"
        ),
    ),
}
