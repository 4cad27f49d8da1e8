"""The audit log (records database): every action a principal took or was refused, and every
decode of the Web UI's codec server, with who, role, unit, what, which incident, when and why
refused. `linkage audit --incident ID` and `GET /audit` list it.

It records who asked, which the workflows' own timelines cannot: an operator playing a party
is written as the operator, with the party played beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, Session, SQLModel, select

from linkage.records.intake import UTCDateTime
from linkage.records.writer import write
from linkage.trust.principals import Principal
from linkage.trust.sealed import SealedJSON, SealedText


def _now() -> datetime:
    return datetime.now(UTC)


def _added(session: Session, row: SQLModel):
    session.add(row)
    return row


class AuditEntry(SQLModel, table=True):
    __tablename__ = "auditentry"
    __table_args__ = (Index("ix_auditentry_principal_at", "principal", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=_now, sa_type=UTCDateTime, index=True)
    principal: str = Field(max_length=40)
    role: str = Field(max_length=24)
    unit: str = Field(default="", max_length=80)
    token_id: str = Field(default="", max_length=64)
    via: str = Field(default="", max_length=16)  # api | cli | codec
    action: str = Field(index=True, max_length=40)
    incident_id: str = Field(default="", index=True, max_length=100)
    allowed: bool = True
    # sealed at rest (linkage.trust.sealed): why refused, and what was asked, may quote a caller
    reason: str = Field(default="", sa_type=SealedText)  # why refused ("" when allowed)
    detail: dict = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))


class AuditLog:
    """Writes and lists the audit entries, over a Store's engine."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def record(
        self,
        principal: Principal,
        action: str,
        *,
        incident_id: str = "",
        allowed: bool = True,
        reason: str = "",
        via: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        row = AuditEntry(
            principal=principal.name[:40],
            role=principal.role.value,
            unit=principal.unit,
            token_id=principal.token_id,
            via=via,
            action=action[:40],
            incident_id=incident_id[:100],
            allowed=allowed,
            reason=reason[:1000],
            detail=detail or {},
        )
        return write(self.engine, lambda session: _added(session, row))

    def complete(
        self,
        entry_id: int,
        *,
        incident_id: str,
        allowed: bool,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """The outcome of an action whose entry was written before it was taken (`record`
        with detail phase "begun"): a process killed between the two leaves the entry begun,
        so no incident or action exists without its entry."""

        def finish(session: Session) -> None:
            row = session.get(AuditEntry, entry_id)
            if row is None:
                return
            row.incident_id = incident_id[:100]
            row.allowed = allowed
            row.reason = reason[:1000]
            row.detail = detail or {}
            session.add(row)

        write(self.engine, finish)

    def list(
        self,
        incident_id: str | None = None,
        principal: str | None = None,
        action: str | None = None,
        refused: bool | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest first."""
        with Session(self.engine) as session:
            query = select(AuditEntry)
            if incident_id:
                query = query.where(AuditEntry.incident_id == incident_id)
            if principal:
                query = query.where(AuditEntry.principal == principal)
            if action:
                query = query.where(AuditEntry.action == action)
            if refused is not None:
                query = query.where(AuditEntry.allowed == (not refused))
            query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
            return list(session.exec(query))


def render_audit(rows: list[AuditEntry]) -> str:
    """One line per entry, in local time: when, who, what, on which incident, and the outcome."""
    from linkage.domain.timefmt import district_zone

    if not rows:
        return "no audit entries match"
    zone = district_zone()
    lines = []
    for row in rows:
        when = row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        who = f"{row.role}:{row.unit + '/' if row.unit else ''}{row.principal}"
        played = row.detail.get("as")
        outcome = "ok" if row.allowed else f"REFUSED: {row.reason}"
        if row.detail.get("phase") == "begun":
            outcome = "begun, no outcome recorded (the process stopped while taking it)"
        lines.append(
            f"{when}  {who:<40} {row.action:<18} {row.incident_id or '-':<28} "
            f"{'as ' + played + '  ' if played else ''}{outcome}"
        )
    return "\n".join(lines)
