"""Per-org settings: overrides of the deployment's defaults in org_settings

organizations.invitation_expiry_days moves there: an org that kept the old default (7) gets no
row and follows TENANTRY_INVITATION_EXPIRY_DAYS from now on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_settings",
        sa.Column("org_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("invitation_expiry_days", sa.Integer(), nullable=True),
        sa.Column(
            "invitation_email_domains",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=sa.Text()), "cockroachdb")
            .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
            .with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("session_hours", sa.Integer(), nullable=True),
        sa.Column("members_see_each_other", sa.Boolean(), nullable=True),
        sa.Column("audit_retention_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_org_settings_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_settings")),
    )
    op.execute(
        "INSERT INTO org_settings (org_id, invitation_expiry_days) "
        "SELECT id, invitation_expiry_days FROM organizations WHERE invitation_expiry_days <> 7"
    )
    # Plain DROP COLUMN (SQLite >= 3.35): batch mode would copy the table.
    op.drop_column("organizations", "invitation_expiry_days")


def downgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("invitation_expiry_days", sa.Integer(), server_default=sa.text("7"), nullable=False),
    )
    op.execute(
        "UPDATE organizations SET invitation_expiry_days = ("
        "SELECT org_settings.invitation_expiry_days FROM org_settings WHERE org_settings.org_id = organizations.id) "
        "WHERE id IN (SELECT org_id FROM org_settings WHERE invitation_expiry_days IS NOT NULL)"
    )
    op.drop_table("org_settings")
