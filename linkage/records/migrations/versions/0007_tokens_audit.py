"""Trust: the tokens issued and revoked, and the audit log of every action and refusal.

Revision ID: 0005_tokens_audit
Revises: triage_model_version
Create Date: 2026-12-02

`issuedtoken` holds each token `linkage token issue` signed and each revoked jti (a provider's
token is revoked by its jti alone). `auditentry` holds who did or was refused what, on which
incident, when and why; listed by incident and by principal.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_tokens_audit"
down_revision = "triage_model_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuedtoken",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_table(
        "auditentry",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(40), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_auditentry_at", "auditentry", ["at"])
    op.create_index("ix_auditentry_action", "auditentry", ["action"])
    op.create_index("ix_auditentry_incident_id", "auditentry", ["incident_id"])
    op.create_index("ix_auditentry_principal_at", "auditentry", ["principal", "at"])


def downgrade() -> None:
    op.drop_table("auditentry")
    op.drop_table("issuedtoken")
