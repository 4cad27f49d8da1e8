"""The tokens on record (records database): every token issued on this host, and every
revocation, of a local token or of one the identity provider signed.

A token is refused once its jti is revoked here; the list shows who holds what until when.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from linkage.records.intake import UTCDateTime
from linkage.records.writer import write
from linkage.trust.sealed import SealedText


def _now() -> datetime:
    return datetime.now(UTC)


class IssuedToken(SQLModel, table=True):
    __tablename__ = "issuedtoken"

    jti: str = Field(primary_key=True, max_length=64)
    issuer: str = Field(default="", max_length=300)
    name: str = Field(default="", max_length=40)
    role: str = Field(default="", max_length=24)
    unit: str = Field(default="", max_length=80)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str = Field(default="", max_length=120)
    reason: str = Field(default="", sa_type=SealedText)  # sealed: an operator's free text


class TokenRecords:
    """Tokens issued and revoked, over a Store's engine."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def record_issued(self, claims: dict) -> IssuedToken:
        row = IssuedToken(
            jti=claims["jti"],
            issuer=claims["iss"],
            name=claims["name"],
            role=claims["role"],
            unit=claims.get("unit", ""),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

        def add(session: Session) -> IssuedToken:
            session.add(row)
            return row

        return write(self.engine, add)

    def revoke(self, jti: str, by: str, reason: str = "") -> IssuedToken:
        """Revoke a jti (known here or not: a provider's token is revoked by its jti too);
        revoking again keeps the first time."""

        def revoke(session: Session) -> IssuedToken:
            # made if unknown, then locked: a revocation from another process at this moment
            # is waited for, and its time kept
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            session.execute(dialect.insert(IssuedToken).values(jti=jti).on_conflict_do_nothing())
            row = session.get_one(IssuedToken, jti, with_for_update=True)
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by, row.reason = _now(), by[:120], reason[:200]
            return row

        return write(self.engine, revoke)

    def revoked_at(self, jti: str) -> datetime | None:
        with Session(self.engine) as session:
            row = session.get(IssuedToken, jti)
            return row.revoked_at if row is not None else None

    def list(self, include_expired: bool = False) -> list[IssuedToken]:
        with Session(self.engine) as session:
            query = select(IssuedToken)
            if not include_expired:
                query = query.where(
                    (IssuedToken.expires_at.is_(None)) | (IssuedToken.expires_at > _now())
                )
            return list(session.exec(query.order_by(IssuedToken.issued_at)))
