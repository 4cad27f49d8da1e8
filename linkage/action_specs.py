"""The parties' actions as the CLI and the client name them, each mapped onto a workflow update:
which workflow takes it, with which payload model, and the help a person reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkage import actions as act


@dataclass(frozen=True)
class ActionSpec:
    """How a CLI action maps onto a workflow update."""

    loop: str  # incident | police | hotline | by_role (feedback: the actor's side decides)
    update: str
    model: type[act.Action]
    fixed: dict[str, Any] = field(default_factory=dict)
    help: str = ""


ACTIONS: dict[str, ActionSpec] = {
    "triage-decide": ActionSpec(
        "incident",
        "decide_triage",
        act.TriageDecisionAction,
        {},
        "linkage desk decides or overrides triage: --direction police|hotline|both "
        "[--subcategory CODE] --reason (分诊复核/改判)",
    ),
    "review": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a station's push (审核通过)",
    ),
    "send-back": ActionSpec(
        "incident",
        "review_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a push back with --reason (退回)",
    ),
    "resubmit": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": False},
        "push again with a revised --divert-reason (补正)",
    ),
    "withdraw": ActionSpec(
        "incident",
        "resubmit",
        act.ResubmitAction,
        {"withdraw": True},
        "withdraw a sent-back push; the origin keeps it (撤回)",
    ),
    "accept": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": True},
        "receiving side accepts the push (接收)",
    ),
    "dispute": ActionSpec(
        "incident",
        "receive",
        act.ReceiveAction,
        {"accept": False},
        "receiving side disputes with --reason (异议)",
    ),
    "settle": ActionSpec(
        "incident",
        "settle",
        act.SettleAction,
        {},
        "negotiation settled: --owner police|hotline|joint (协商)",
    ),
    "command": ActionSpec(
        "police", "command", act.CommandAction, {}, "110 commands --unit to the scene (指令)"
    ),
    "arrive": ActionSpec("police", "arrive", act.ArriveAction, {}, "police unit on the scene"),
    "dispatch": ActionSpec(
        "hotline",
        "dispatch",
        act.DispatchAction,
        {},
        "centre dispatches the order to --unit (派遣)",
    ),
    "sign": ActionSpec("hotline", "sign", act.SignAction, {}, "unit signs for the order (签收)"),
    "return": ActionSpec(
        "hotline", "return", act.ReturnAction, {}, "unit returns the order with --reason (退单)"
    ),
    "extend": ActionSpec(
        "hotline", "extend", act.ExtendAction, {}, "unit asks for --hours more with --reason (延期)"
    ),
    "approve-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": True},
        "centre approves the extension",
    ),
    "refuse-extension": ActionSpec(
        "hotline",
        "decide_extension",
        act.ExtensionDecision,
        {"approve": False},
        "centre refuses the extension",
    ),
    "feedback": ActionSpec(
        "by_role",
        "feedback",
        act.FeedbackAction,
        {},
        "handling unit reports --result (反馈); police or 12345 by role",
    ),
    "reply": ActionSpec(
        "hotline", "reply", act.ReplyAction, {}, "centre replies --message to the citizen (回复)"
    ),
    "close": ActionSpec(
        "hotline", "close", act.CloseAction, {"accept": True}, "centre closes the order (结案)"
    ),
    "reject": ActionSpec(
        "hotline",
        "close",
        act.CloseAction,
        {"accept": False},
        "centre rejects the feedback with --reason (驳回重办)",
    ),
    "revisit": ActionSpec(
        "hotline",
        "revisit",
        act.RevisitAction,
        {},
        "revisit --outcome satisfied|basically_satisfied|dissatisfied|unreachable (回访)",
    ),
    "push-to-bureau": ActionSpec(
        "police",
        "push_to_bureau",
        act.PolicePushAction,
        {},
        "police unit pushes the case it handles to the bureau with --reason (推送分局)",
    ),
    "approve-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": True},
        "bureau approves a police push during handling; 12345 joins",
    ),
    "refuse-push": ActionSpec(
        "incident",
        "review_police_push",
        act.ReviewAction,
        {"approve": False},
        "bureau sends a police push back with --reason",
    ),
    "police-linkage": ActionSpec(
        "hotline",
        "call_police",
        act.PoliceLinkageAction,
        {},
        "handling unit calls police to the scene with --reason (派警联动)",
    ),
    "report-in": ActionSpec(
        "whistle", "report_in", act.ReportInAction, {}, "a summoned unit reports in (应哨报到)"
    ),
    "whistle-plan": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "plan"},
        "record the joint plan on the whistle, in --note (联合处置方案)",
    ),
    "whistle-handle": ActionSpec(
        "whistle",
        "joint_step",
        act.JointStepAction,
        {"kind": "handling"},
        "record a step of the joint handling, in --note (联合处置)",
    ),
    "close-whistle": ActionSpec(
        "whistle", "close", act.CloseWhistleAction, {}, "the officer who blew it closes it"
    ),
    "emergency-linkage": ActionSpec(
        "incident",
        "link_emergency",
        act.EmergencyLinkageAction,
        {},
        "notify emergency units --units 119,120,gas … at once (应急联动)",
    ),
    "acknowledge": ActionSpec(
        "emergency",
        "acknowledge",
        act.AcknowledgeAction,
        {},
        "an emergency unit (--as emergency_unit:CODE) acknowledges its notice",
    ),
}
