"""AuthorizedClient: the LinkageClient as one principal may use it (the API and the CLI).

Every call is checked against the policy before anything reaches Temporal, and recorded in the
audit log, allowed or refused; the actor of every action is built from the principal, never
taken from the caller's payload. Trusted code in this process (the worker, the tests of the
workflows, the demo) keeps using LinkageClient itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel

from linkage.client.core import LinkageClient
from linkage.client.diverting import DivertResult, parse_report
from linkage.client.errors import ActionRefused, LinkageError
from linkage.client.listing import IncidentListing
from linkage.client.status import IncidentStatus, check_incident_id
from linkage.domain.action_specs import ACTIONS
from linkage.domain.models import IncidentReport
from linkage.domain.units import UnknownUnit
from linkage.records.audit import AuditEntry, AuditLog
from linkage.records.tables import Incident, OutboxMessage
from linkage.trust.policy import SEES_EVERY_INCIDENT, SENDERS, IncidentContext, authorize
from linkage.trust.principals import Principal, make_principal
from linkage.trust.tokens import Forbidden

OUTBOX_TARGETS = ("police", "hotline", "sms", "emergency")


class AuthorizedClient:
    def __init__(
        self,
        client: LinkageClient,
        principal: Principal,
        audit: AuditLog | None = None,
        via: str = "api",
        played: Principal | None = None,
    ) -> None:
        """`played`: the party an operator plays on the worker host (CLI `--as`); the policy
        is the party's, the audit names the operator."""
        if played is not None and principal.role.value != "operator":
            raise Forbidden("only the host's operator plays another party")
        self.client = client
        self.principal = principal
        self.party = played or principal
        self.audit = audit or AuditLog(client.store.engine)
        self.via = via

    # --- policy and audit ---------------------------------------------------------------------

    def _record(self, action: str, incident_id: str = "", reason: str = "", **detail) -> None:
        if self.party is not self.principal:
            detail["as"] = str(self.party)
        self.audit.record(
            self.principal,
            action,
            incident_id=incident_id,
            allowed=not reason,
            reason=reason,
            via=self.via,
            detail={k: v for k, v in detail.items() if v not in (None, "")},
        )

    @contextlib.asynccontextmanager
    async def _taking(self, action: str, incident_id: str):
        """The entry is written before the action is taken and completed after it, so that a
        process killed in between leaves an entry saying so. Yields the outcome to fill in:
        `incident_id`, `reason` (refused) and `detail`."""
        played = {"as": str(self.party)} if self.party is not self.principal else {}
        entry = self.audit.record(
            self.principal,
            action,
            incident_id=incident_id,
            via=self.via,
            detail={**played, "phase": "begun"},
        )
        outcome: dict[str, Any] = {"incident_id": incident_id, "reason": "", "detail": {}}
        try:
            yield outcome
        except BaseException as err:
            if not outcome["reason"]:  # not refused: the action's outcome is unknown
                outcome["detail"]["outcome"] = f"no outcome: {type(err).__name__}"
            raise
        finally:
            detail = {**played, **outcome["detail"]}
            self.audit.complete(
                entry.id,
                incident_id=outcome["incident_id"],
                allowed=not outcome["reason"],
                reason=outcome["reason"],
                detail={k: v for k, v in detail.items() if v not in (None, "")},
            )

    def check(self, action: str, context=None, incident_id: str = "", **facts) -> None:
        """Refuse, and record the refusal, what the policy does not allow."""
        try:
            authorize(self.party, action, context, **facts)
        except Forbidden as err:
            self._record(action, incident_id or getattr(context, "incident_id", ""), str(err))
            raise

    def _no_actor(self, action: str, incident_id: str, payload: dict) -> None:
        """An actor in the payload is refused (and recorded): the principal is the actor."""
        if "actor" in payload:
            reason = f"{action}: actor: set from your token, leave it out"
            self._record(action, incident_id, reason, forged_actor=str(payload["actor"])[:200])
            raise LinkageError(reason)

    async def context(self, incident_id: str) -> tuple[IncidentContext, IncidentStatus]:
        status = await self.client.status(incident_id)
        state, summary = status.incident, status.summary
        origin = (state or summary).origin.value if (state or summary) else ""
        row = self.client.store.get(Incident, incident_id)
        context = IncidentContext(
            incident_id=incident_id,
            origin=origin or incident_id.partition("-")[0],
            originating_unit=row.originating_unit if row is not None else "",
        )
        police = status.police or (summary.police if summary else None)
        hotline = status.hotline or (summary.hotline if summary else None)
        context.commanded = police.unit if police else ""
        context.dispatched = hotline.unit if hotline else ""
        if state is not None:
            context.summoned = {u for w in state.whistles if not w.closed for u in w.units}
            context.notified = {u for e in state.emergencies if not e.closed for u in e.units}
        elif summary is not None:  # closed: the units it had, for who may read it
            context.summoned = {u for w in summary.whistles for u in w.units}
            context.notified = {u for e in summary.emergencies for u in e.units}
        return context, status

    # --- the incident -------------------------------------------------------------------------

    async def divert(self, report: IncidentReport | dict) -> DivertResult:
        if not isinstance(report, IncidentReport):
            report = parse_report(report, self.client.register)
        else:
            report = parse_report(report.model_dump(mode="json"), self.client.register)
        context = IncidentContext(
            incident_id=report.incident_id,
            origin=report.origin.value,
            originating_unit=report.originating_unit,
        )
        if self.principal.role.value == "operator" and self.party is self.principal:
            return await self._as_platform(report, context)
        self.check("divert", context)
        async with self._taking("divert", report.incident_id) as outcome:
            result = await self.client.divert(report)
            outcome["incident_id"], outcome["detail"] = result.incident_id, {"new": result.new}
        return result

    async def _as_platform(self, report: IncidentReport, context) -> DivertResult:
        """The host's operator feeds a report as its origin platform (the bureau for 110, the
        12345 command centre), recorded as the operator."""
        unit = "police.bureau" if report.origin.value == "police" else "hotline.command"
        role = SENDERS[report.origin.value][0].value
        platform = make_principal(
            self.client.register, name=self.principal.name, role=role, unit=unit
        )
        client = AuthorizedClient(self.client, self.principal, self.audit, self.via, platform)
        client.check("divert", context)
        async with client._taking("divert", report.incident_id) as outcome:
            result = await self.client.divert(report)
            outcome["incident_id"], outcome["detail"] = result.incident_id, {"new": result.new}
        return result

    async def act(
        self, incident_id: str, action: str, payload: dict[str, Any], whistle: int | None = None
    ) -> BaseModel:
        check_incident_id(incident_id, action)
        context, _ = await self.context(incident_id)
        self.check(action, context)
        self._no_actor(action, incident_id, payload)
        spec = ACTIONS.get(action)
        missing = [n for n in (spec.needs if spec else ()) if not payload.get(n)]
        if missing:
            raise LinkageError(f"{action}: {missing[0]}: is required")
        actor = self.party.actor().model_dump()
        async with self._taking(action, incident_id) as outcome:
            outcome["detail"] = {"whistle": whistle}
            try:
                state = await self.client.act(
                    incident_id, action, {**payload, "actor": actor}, whistle
                )
            except ActionRefused as err:  # the workflow's validator, the second line
                outcome["reason"], outcome["detail"] = str(err), {"refused_by": "workflow"}
                raise
        return state

    async def whistle(self, incident_id: str, call: dict[str, Any]) -> BaseModel:
        check_incident_id(incident_id, "whistle")
        context, _ = await self.context(incident_id)
        self.check("whistle", context)
        self._no_actor("whistle", incident_id, call)
        async with self._taking("whistle", incident_id) as outcome:
            try:
                state = await self.client.whistle(
                    incident_id, {**call, "actor": self.party.actor().model_dump()}
                )
            except ActionRefused as err:
                outcome["reason"], outcome["detail"] = str(err), {"refused_by": "workflow"}
                raise
        return state

    async def status(self, incident_id: str) -> IncidentStatus:
        context, status = await self.context(incident_id)
        self.check("status", context)
        self._record("status", incident_id)
        return status

    async def list(self, **filters) -> list[IncidentListing]:
        """A unit's own queue by default; the desks list every incident."""
        unit = filters.get("unit")
        if unit:
            try:
                unit = self.client.register.resolve(unit, None, "unit").code
            except UnknownUnit as err:
                raise LinkageError(str(err)) from None
        elif self.party.role not in SEES_EVERY_INCIDENT:
            unit = self.party.unit
        if unit:
            filters["unit"] = unit
        self.check("list", unit=unit or None)
        return await self.client.list(**filters)

    # --- the outbox and the audit -------------------------------------------------------------

    def outbox(
        self, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]:
        """A platform reads its own messages; every target when it names none."""
        from linkage.trust.policy import OUTBOX

        store = self.client.store
        if target is None and self.party.role in OUTBOX:
            rows: list[OutboxMessage] = []
            for own in sorted(OUTBOX[self.party.role]):
                self.check("outbox.read", target=own)
                rows += store.outbox(target=own, status=status, limit=limit)
            rows = sorted(rows, key=lambda r: r.created_at)[:limit]
        else:
            self.check("outbox.read", target=target)
            rows = store.outbox(target=target, status=status, limit=limit)
        self._record("outbox.read", target=target, count=len(rows))
        return rows

    def acknowledge(self, key: str) -> OutboxMessage:
        store = self.client.store
        row = store.get(OutboxMessage, key)
        if row is None:
            raise LinkageError(f"no outbox message {key}")
        self.check("outbox.ack", incident_id=row.incident_id, target=row.target)
        store.acknowledge(key)
        self._record("outbox.ack", row.incident_id, key=key)
        return store.get(OutboxMessage, key)

    def audit_entries(self, **filters) -> list[AuditEntry]:
        self.check("audit")
        return self.audit.list(**filters)
