"""Every CLI command, and what it is in the policy (linkage/trust/policy.py).

A command either takes actions of the policy, authorised against the principal of the run and
audited, refusals too (COMMAND_ACTIONS), or is listed here as needing no principal, with the
reason (NO_PRINCIPAL). tests/test_cli_policy.py enumerates the parser's commands and fails for
one that is in neither, so that a new command cannot slip in unaudited.

A command is named by its words: `keys rotate`, `report monthly`, `token issue`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkage.domain.action_specs import ACTIONS

COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {
    # through the authorised client (linkage.client.authorized): each call checked and audited
    "divert": ("divert",),
    "status": ("status",),
    "act": tuple(ACTIONS),
    "whistle": ("whistle",),
    "list": ("list",),
    "outbox": ("outbox.read", "outbox.ack"),
    # checked and audited by the command itself, with authorize_command below or its like
    "setup": ("setup", "setup.check"),
    "keys list": ("keys",),
    "keys rotate": ("keys.rotate",),
    "demo": ("demo",),
    "triage learn": ("triage.learn",),
    "triage export": ("triage.export",),
    "report monthly": ("report.produce",),
    "report quarterly": ("report.produce",),
    "report annual": ("report.produce",),
    "report list": ("report.list",),
    "report evidence": ("report.evidence",),
    "report schedules": ("report.schedules",),
    "token issue": ("token.admin",),
    "token revoke": ("token.admin",),
    "token list": ("token.admin",),
    "audit": ("audit",),
    "release status": ("release.status",),
    "release ramp": ("release.ramp",),
    "release promote": ("release.promote",),
}

NO_PRINCIPAL: dict[str, str] = {
    "up": "starts the system on this machine (its dev server, API, codec server, Web UI gate "
    "and worker), each of which authenticates its own callers; it acts on nothing itself",
    "worker": "a process that polls Temporal with the host's credentials; every update and "
    "signal it takes carries a signed proof (LINKAGE_COMMAND_KEYS), checked by the worker",
    "serve": "the HTTP API: every request names its principal by a token, authorised and "
    "audited per request",
    "codec-server": "every decode request names its principal by a token; each decode and "
    "refusal is audited",
    "ui-gate": "signs people in with their token; only those the policy lets watch pass",
    "triage": "classifies the text it is given (or stdin) with the model on disk: it reads no "
    "records and writes nothing (`triage learn`, which does both, is an action)",
}


def authorize_command(args, store, action: str, **scope: Any) -> Callable[..., None]:
    """Authorise `action` for the run's principal (a token, a profile, or the host's operator);
    a refusal is audited with its reason and raised. The entry is written before the command
    acts; the returned `done(**entry)` completes it once it is done (or failed: pass
    `reason`). `scope` is policy.authorize's target/unit, recorded with the entry."""
    from linkage.interfaces.cli import tokens as token_cli
    from linkage.records.audit import AuditLog
    from linkage.trust.policy import authorize

    principal = token_cli.current_principal(store, getattr(args, "profile", None))
    audit = AuditLog(store.engine)
    asked = {key: value for key, value in scope.items() if value}
    try:
        authorize(principal, action, **scope)
    except Exception as err:
        audit.record(principal, action, allowed=False, reason=str(err), via="cli", detail=asked)
        raise

    # written before the command acts, completed by done(): a run killed in between leaves
    # the entry begun, so nothing a command did is without its entry
    entry = audit.record(principal, action, via="cli", detail={**asked, "phase": "begun"})

    def done(*, reason: str = "", detail: dict | None = None) -> None:
        audit.complete(
            entry.id,
            incident_id="",
            allowed=True,
            reason=reason,
            detail={**asked, **(detail or {})},
        )

    return done
