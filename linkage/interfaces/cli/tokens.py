"""The CLI's credentials, and `linkage token issue|revoke|list` and `linkage audit`.

The CLI acts as the principal of a token: LINKAGE_TOKEN, or a profile of profiles.toml
(`--profile NAME`, LINKAGE_PROFILE, or the file's `default`). Without one, on the worker host,
it acts as the host's operator when the operator token (`linkage up` leaves one) or the signing
key is there: the audit records the operator, and the party it plays with `--as`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime

from linkage.client import LinkageError
from linkage.domain.timefmt import jsonable
from linkage.domain.units import load_register
from linkage.interfaces.cli.credentials import profile_token, profiles_path
from linkage.records.audit import AuditLog, render_audit
from linkage.records.store import Store
from linkage.records.tokens import TokenRecords
from linkage.settings.config import Settings
from linkage.trust.auth_config import key_path, load_auth_config, operator_token_path
from linkage.trust.policy import authorize
from linkage.trust.principals import InvalidPrincipal, Principal, make_principal
from linkage.trust.tokens import TokenVerifier, Unauthenticated, host_operator, issue_token


def verifier(
    store: Store, revoked: Callable[[str], datetime | None] | None = None
) -> TokenVerifier:
    return TokenVerifier(revoked=revoked or TokenRecords(store.engine).revoked_at)


def current_principal(
    store: Store,
    profile: str | None = None,
    *,
    revoked: Callable[[str], datetime | None] | None = None,
) -> Principal:
    """Who this CLI run acts as (see the module's docstring); Unauthenticated if nobody.
    `revoked` answers for the records' list of revoked tokens (`linkage setup` reads a
    database it has not migrated yet, which may have none)."""
    token = os.environ.get("LINKAGE_TOKEN") or profile_token(
        profile or os.environ.get("LINKAGE_PROFILE")
    )
    if token:
        return verifier(store, revoked).verify(token)
    operator = operator_token_path()
    if operator.exists():
        return verifier(store, revoked).verify(operator.read_text(encoding="utf-8").strip())
    if key_path().exists():
        return host_operator()
    raise Unauthenticated(
        "no credentials: set LINKAGE_TOKEN, name a profile (--profile NAME, "
        f"{profiles_path()}), or run on the worker host (linkage up makes its operator token)"
    )


def played_party(principal: Principal, actor: dict | None) -> Principal | None:
    """`--as ROLE:UNIT[/PERSON]`: the party an operator plays; for anyone else it must be the
    token's own principal (then it changes nothing), else it is refused."""
    if actor is None:
        return None
    register = load_register()
    try:
        named = make_principal(
            register,
            name=actor.get("person") or principal.name,
            role=actor["role"],
            unit=actor["unit"],
            what="--as",
        )
    except InvalidPrincipal as err:
        raise LinkageError(str(err)) from None
    if principal.role.value == "operator":
        return named
    same = (named.role, named.unit) == (principal.role, principal.unit)
    if not same or (actor.get("person") and named.name != principal.name):
        raise LinkageError(
            f"--as {named} disagrees with your token ({principal}); leave --as out: "
            "you act as your token's principal"
        )
    return None


# --- linkage token / linkage audit ------------------------------------------------------------


def add_parsers(sub, json_flag) -> None:
    p = sub.add_parser("token", help="issue, revoke and list tokens (operators)")
    what = p.add_subparsers(dest="token_command", required=True, metavar="WHAT")
    k = what.add_parser("issue", parents=[json_flag], help="sign a token for a principal")
    k.add_argument("--role", required=True, help="a party's role, supervisor or operator")
    k.add_argument("--unit", default="", help="the unit it acts for, by code, name or alias")
    k.add_argument("--name", required=True, help="the person or platform")
    k.add_argument("--days", type=float, default=30, help="valid for this many days")
    k = what.add_parser("revoke", parents=[json_flag], help="refuse a token from now on")
    k.add_argument("jti", help="the token's ID (token list shows them)")
    k.add_argument("--reason", default="", help="why (lost, left the post …)")
    k = what.add_parser("list", parents=[json_flag], help="tokens issued and revoked")
    k.add_argument("--all", action="store_true", help="expired ones too")

    p = sub.add_parser("audit", parents=[json_flag], help="who did or was refused what")
    p.add_argument("--incident", help="one incident's entries")
    p.add_argument("--principal", help="one principal's entries, by name")
    p.add_argument("--action", help="one action's entries, e.g. reply or decode")
    p.add_argument("--refused", action="store_true", help="only the refusals")
    p.add_argument("--limit", type=int, default=100)


def run(args) -> int:
    store = Store(Settings().database_url)
    principal = current_principal(store, getattr(args, "profile", None))
    audit = AuditLog(store.engine)
    action = "audit" if args.command == "audit" else "token.admin"
    try:
        authorize(principal, action)
    except Exception as err:
        audit.record(principal, action, allowed=False, reason=str(err), via="cli")
        raise
    if args.command == "audit":
        rows = audit.list(
            incident_id=args.incident,
            principal=args.principal,
            action=args.action,
            refused=True if args.refused else None,
            limit=args.limit,
        )
        _out(args, [r.model_dump() for r in rows], render_audit(rows))
        return 0
    records = TokenRecords(store.engine)
    if args.token_command == "issue":
        try:
            subject = make_principal(
                load_register(), name=args.name, role=args.role, unit=args.unit, what="token"
            )
            token, claims = issue_token(subject, args.days, load_auth_config())
        except (InvalidPrincipal, ValueError) as err:
            raise LinkageError(str(err)) from None
        entry = audit.record(
            principal, "token.issue", via="cli", detail={"jti": claims["jti"], "phase": "begun"}
        )
        records.record_issued(claims)
        audit.complete(entry.id, incident_id="", allowed=True, detail={"jti": claims["jti"]})
        _out(args, {"token": token, **claims}, token)
        return 0
    if args.token_command == "revoke":
        entry = audit.record(
            principal, "token.revoke", via="cli", detail={"jti": args.jti, "phase": "begun"}
        )
        try:
            row = records.revoke(args.jti, by=str(principal), reason=args.reason)
        except Exception as err:
            audit.complete(
                entry.id,
                incident_id="",
                allowed=True,
                reason=f"failed: {str(err)[:900]}",
                detail={"jti": args.jti},
            )
            raise
        audit.complete(entry.id, incident_id="", allowed=True, detail={"jti": args.jti})
        _out(args, row.model_dump(), f"{row.jti}: revoked at {row.revoked_at.isoformat()}")
        return 0
    rows = records.list(include_expired=args.all)
    lines = [
        f"{r.jti}  {r.role}:{r.unit + '/' if r.unit else ''}{r.name}  until "
        f"{r.expires_at.isoformat() if r.expires_at else '?'}"
        f"{'  REVOKED ' + r.revoked_at.isoformat() if r.revoked_at else ''}"
        for r in rows
    ]
    _out(args, [r.model_dump() for r in rows], "\n".join(lines) or "no tokens")
    return 0


def _out(args, data, text: str) -> None:
    if args.json:
        print(json.dumps(jsonable(data), ensure_ascii=False, indent=2))
    else:
        print(text)
