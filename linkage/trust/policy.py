"""The policy: which principal roles may take each action, and on which incidents their unit may.

One table, read by the API, the CLI and the codec server before anything reaches Temporal;
the workflows' own validators stay as the second line. A refusal raises Forbidden with the
reason, which the caller records in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linkage.domain.action_specs import ACTIONS
from linkage.trust.principals import SEES_PERSONAL_DATA, Principal, PrincipalRole
from linkage.trust.tokens import Forbidden

P = PrincipalRole
PARTIES = frozenset(r for r in P if r.workflow_role is not None)
EVERYONE = frozenset(P)
DUTY = frozenset({P.police_bureau, P.command_center})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[PrincipalRole]
    unit: str = ""  # the unit rule checked against the incident (see _UNIT_RULES)


def rule(*roles: PrincipalRole, unit: str = "") -> Rule:
    return Rule(frozenset(roles), unit)


POLICY: dict[str, Rule] = {
    "triage-decide": rule(P.linkage_desk),
    "review": rule(P.police_bureau, P.command_center, unit="origin_reviewer"),
    "send-back": rule(P.police_bureau, P.command_center, unit="origin_reviewer"),
    "resubmit": rule(
        *(P.police_unit, P.police_bureau, P.member_unit, P.command_center), unit="own_push"
    ),
    "withdraw": rule(
        *(P.police_unit, P.police_bureau, P.member_unit, P.command_center), unit="own_push"
    ),
    "accept": rule(P.police_bureau, P.command_center, unit="receiver_reviewer"),
    "dispute": rule(P.police_bureau, P.command_center, unit="receiver_reviewer"),
    "settle": rule(P.police_bureau, P.command_center, P.linkage_desk, unit="centre_side"),
    "command": rule(P.police_bureau),
    "arrive": rule(P.police_unit, unit="commanded"),
    "push-to-bureau": rule(P.police_unit, unit="commanded"),
    "dispatch": rule(P.command_center, unit="centre_side"),
    "sign": rule(P.member_unit, unit="dispatched"),
    "return": rule(P.member_unit, unit="dispatched"),
    "extend": rule(P.member_unit, unit="dispatched"),
    "approve-extension": rule(P.command_center, unit="centre_side"),
    "refuse-extension": rule(P.command_center, unit="centre_side"),
    "feedback": rule(P.police_unit, P.member_unit, unit="handling"),
    "reply": rule(P.command_center, unit="centre_side"),
    "close": rule(P.command_center, unit="centre_side"),
    "reject": rule(P.command_center, unit="centre_side"),
    "revisit": rule(P.command_center, unit="centre_side"),
    "approve-push": rule(P.police_bureau),
    "refuse-push": rule(P.police_bureau),
    "police-linkage": rule(P.member_unit, unit="dispatched"),
    "report-in": rule(*PARTIES, unit="summoned"),
    "whistle-plan": rule(*PARTIES, unit="duty_or_summoned"),
    "whistle-handle": rule(*PARTIES, unit="duty_or_summoned"),
    "close-whistle": rule(*DUTY, unit="centre_side"),
    "emergency-linkage": rule(*DUTY, unit="centre_side"),
    "acknowledge": rule(P.emergency_unit, unit="notified"),
    # beyond the workflow actions
    "divert": rule(
        *(P.police_bureau, P.police_unit, P.command_center, P.member_unit), unit="origin_side"
    ),
    "whistle": rule(*DUTY, unit="centre_side"),
    "status": rule(*EVERYONE, unit="involved"),
    "list": rule(*EVERYONE, unit="own_queue"),
    "outbox.read": rule(P.police_bureau, P.command_center, P.supervisor, P.operator, unit="outbox"),
    "outbox.ack": rule(P.police_bureau, P.command_center, P.operator, unit="outbox"),
    "audit": rule(P.supervisor, P.operator),
    "token.admin": rule(P.operator),
    "setup": rule(P.operator),  # linkage setup: the namespace, attributes, schedules, schema
    "setup.check": rule(P.operator, P.supervisor),  # … only reading what differs
    "keys": rule(P.operator, P.supervisor),  # linkage keys: the codec keyring's key IDs
    "keys.rotate": rule(P.operator),  # linkage keys rotate: a new key encrypts from now on
    "demo": rule(P.operator),  # feeds incidents and plays every party with tokens it issues
    "triage.learn": rule(P.operator),  # retrains the model every incident's triage uses
    "triage.export": rule(P.operator),  # the desk's decisions with their descriptions
    # the reviews name units and cases: produced and read by those who supervise
    "report.produce": rule(P.supervisor, P.operator),
    "report.list": rule(P.supervisor, P.operator),
    "report.evidence": rule(*EVERYONE, unit="own_unit"),  # a unit its own evidence only
    "report.schedules": rule(P.operator),  # creates and backfills Temporal Schedules
    # worker releases (linkage release): who looks, and who moves the work to a new version
    "release.status": rule(P.operator, P.supervisor),
    "release.ramp": rule(P.operator),
    "release.promote": rule(P.operator),
    "decode": rule(*SEES_PERSONAL_DATA),
    # the cluster's Web UI, read-only, through linkage ui-gate: those who watch every incident
    "watch": rule(P.supervisor, P.operator, P.police_bureau, P.command_center, P.linkage_desk),
}
assert set(ACTIONS) <= set(POLICY), set(ACTIONS) - set(POLICY)

# How a refusal names who may, where the bare list of roles says too little.
WHO = {
    "whistle": "a duty officer blows the whistle:",
    "reply": "only the 12345 command centre replies to a citizen:",
    "divert": "a platform pushes its own reports:",
    "decode": "personal data is decoded for",
    "keys.rotate": "the codec's keys are rotated by",
    "report.produce": "the reviews are produced by",
}
# Who reviews on each side: the bureau for 110, the 12345 command centre for 12345.
REVIEWER = {"police": P.police_bureau, "hotline": P.command_center}
# Who may push (and resubmit or withdraw) from each side; the first may for any unit of its side.
SENDERS = {
    "police": (P.police_bureau, P.police_unit),
    "hotline": (P.command_center, P.member_unit),
}
# Outbox targets each platform reads and acknowledges (its own messages).
OUTBOX = {
    P.police_bureau: {"police", "emergency"},
    P.command_center: {"hotline", "sms", "emergency"},
}
SEES_EVERY_INCIDENT = frozenset(
    {P.police_bureau, P.command_center, P.linkage_desk, P.supervisor, P.operator}
)


@dataclass
class IncidentContext:
    """What the unit rules need to know of an incident (read before the action)."""

    incident_id: str
    origin: str  # police | hotline
    originating_unit: str = ""  # the unit that pushed, by code (from the records)
    commanded: str = ""  # the police loop's unit
    dispatched: str = ""  # the 12345 loop's unit
    summoned: set[str] = field(default_factory=set)  # units of the open whistles
    notified: set[str] = field(default_factory=set)  # units of the open emergency linkages

    @property
    def units(self) -> set[str]:
        found = {self.originating_unit, self.commanded, self.dispatched}
        return (found | self.summoned | self.notified) - {""}


def allowed_roles(action: str) -> list[str]:
    return sorted(r.value for r in POLICY[action].roles)


def authorize(
    principal: Principal,
    action: str,
    context: IncidentContext | None = None,
    *,
    target: str | None = None,
    unit: str | None = None,
) -> None:
    """Refuse (Forbidden, with the reason) what the principal may not do; return otherwise.
    `target` is the outbox target, `unit` a list's unit filter (both by code)."""
    found = POLICY.get(action)
    if found is None:
        raise Forbidden(f"{action}: no such action in the policy")
    if principal.role not in found.roles:
        raise Forbidden(
            f"{action}: a {principal.role.value} may not take it; "
            f"{WHO.get(action, 'it is for')} {', '.join(allowed_roles(action))}"
        )
    if found.unit:
        check = _UNIT_RULES[found.unit]
        check(principal, action, context, target=target, unit=unit)


def _centre_side(p: Principal, action: str, context, **_) -> None:
    """A command_center principal is 12345's centre: the 110 centre acts as police_bureau."""
    if p.role is P.command_center and p.unit_side not in ("hotline", "both"):
        raise Forbidden(
            f"{action}: only the 12345 command centre takes it as command_center, "
            f"not {p.unit_name or p.unit}"
        )


def _need(context: IncidentContext | None, action: str) -> IncidentContext:
    if context is None:
        raise Forbidden(f"{action}: the incident is needed to decide who may take it")
    return context


def _origin_reviewer(p: Principal, action: str, context, **_) -> None:
    side = _need(context, action).origin
    _reviewer(p, action, side, "the sending side's review")


def _receiver_reviewer(p: Principal, action: str, context, **_) -> None:
    side = "hotline" if _need(context, action).origin == "police" else "police"
    _reviewer(p, action, side, "the receiving side's review")


def _reviewer(p: Principal, action: str, side: str, what: str) -> None:
    if p.role is not REVIEWER[side]:
        raise Forbidden(
            f"{action}: {what} of a {side} incident is for {REVIEWER[side].value}, "
            f"not {p.role.value}"
        )
    _centre_side(p, action, None)


def _own_push(p: Principal, action: str, context, **_) -> None:
    context = _need(context, action)
    first, unit_role = SENDERS[context.origin]
    if p.role not in (first, unit_role):
        raise Forbidden(f"{action}: a {context.origin} push is resubmitted by its own side")
    _centre_side(p, action, None)
    if p.role is unit_role and not p.acts_for(context.originating_unit):
        raise Forbidden(
            f"{action}: {p.unit_name or p.unit} may act only on its own push; this one is "
            f"{context.originating_unit or 'of a unit not on record'}'s"
        )


def _origin_side(p: Principal, action: str, context, **_) -> None:
    """Divert: a platform principal of the report's origin; a unit only for itself."""
    context = _need(context, action)
    first, unit_role = SENDERS[context.origin]
    if p.role not in (first, unit_role):
        raise Forbidden(
            f"{action}: a {context.origin} report is pushed by {first.value} or "
            f"{unit_role.value}, not {p.role.value}"
        )
    _centre_side(p, action, None)
    if p.role is unit_role and not p.acts_for(context.originating_unit):
        raise Forbidden(
            f"{action}: report: originating_unit: {context.originating_unit} is not your unit "
            f"({p.unit_name or p.unit}); a unit pushes its own reports"
        )


def _unit_is(p: Principal, action: str, unit: str, what: str) -> None:
    if not unit:
        raise Forbidden(f"{action}: the incident has no {what} yet")
    if not p.acts_for(unit):
        raise Forbidden(f"{action}: the {what} is {unit}, not {p.unit_name or p.unit}")


def _commanded(p: Principal, action: str, context, **_) -> None:
    _unit_is(p, action, _need(context, action).commanded, "unit commanded")


def _dispatched(p: Principal, action: str, context, **_) -> None:
    _unit_is(p, action, _need(context, action).dispatched, "unit the order is dispatched to")


def _handling(p: Principal, action: str, context, **_) -> None:
    context = _need(context, action)
    if p.role is P.police_unit:
        _unit_is(p, action, context.commanded, "unit commanded")
    else:
        _unit_is(p, action, context.dispatched, "unit the order is dispatched to")


def _summoned(p: Principal, action: str, context, **_) -> None:
    context = _need(context, action)
    if not any(p.acts_for(u) for u in context.summoned):
        raise Forbidden(
            f"{action}: {p.unit_name or p.unit} was not summoned by an open whistle of "
            f"{context.incident_id}"
        )


def _duty_or_summoned(p: Principal, action: str, context, **kw) -> None:
    if p.role in DUTY:
        _centre_side(p, action, context)
    else:
        _summoned(p, action, context, **kw)


def _notified(p: Principal, action: str, context, **_) -> None:
    context = _need(context, action)
    if not any(p.acts_for(u) for u in context.notified):
        raise Forbidden(
            f"{action}: no open emergency linkage of {context.incident_id} notified "
            f"{p.unit_name or p.unit} ({p.unit})"
        )


def _involved(p: Principal, action: str, context, **_) -> None:
    """The desks see every incident; a unit those it pushed, handles, or was summoned to."""
    if p.role in SEES_EVERY_INCIDENT:
        return
    context = _need(context, action)
    if not any(p.acts_for(u) for u in context.units):
        raise Forbidden(f"{action}: {p.unit_name or p.unit} has no part in {context.incident_id}")


def _own_queue(p: Principal, action: str, context, *, unit=None, **_) -> None:
    if p.role in SEES_EVERY_INCIDENT:
        return
    if unit is None or not p.acts_for(unit):
        raise Forbidden(f"{action}: a unit lists its own queue ({p.unit}), not {unit or 'all'}")


def _own_unit(p: Principal, action: str, context, *, unit=None, **_) -> None:
    if p.role in SEES_EVERY_INCIDENT:
        return
    if not unit or not p.acts_for(unit):
        raise Forbidden(
            f"{action}: a unit sees its own ({p.unit_name or p.unit}: --unit {p.unit}), "
            f"not {unit or 'every unit'}'s"
        )


def _outbox(p: Principal, action: str, context, *, target=None, **_) -> None:
    if p.role in (P.supervisor, P.operator):
        return
    mine = OUTBOX[p.role]
    _centre_side(p, action, None)
    if target is None or target not in mine:
        raise Forbidden(
            f"{action}: a {p.role.value} reads its own messages ({', '.join(sorted(mine))}), "
            f"not {target or 'every target'}"
        )


_UNIT_RULES = {
    "centre_side": _centre_side,
    "origin_reviewer": _origin_reviewer,
    "receiver_reviewer": _receiver_reviewer,
    "own_push": _own_push,
    "origin_side": _origin_side,
    "commanded": _commanded,
    "dispatched": _dispatched,
    "handling": _handling,
    "summoned": _summoned,
    "duty_or_summoned": _duty_or_summoned,
    "notified": _notified,
    "involved": _involved,
    "own_queue": _own_queue,
    "own_unit": _own_unit,
    "outbox": _outbox,
}
