"""Support: impersonations, owners' answers to access requests, and the org's support access setting

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = (
    sa.JSON()
    .with_variant(postgresql.JSONB(astext_type=sa.Text()), "cockroachdb")
    .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
    .with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
)


def upgrade() -> None:
    op.add_column("org_settings", sa.Column("support_access", sa.String(length=16), nullable=True))
    op.create_table(
        "impersonations",
        sa.Column("id", GUID, nullable=False),
        sa.Column("staff_user_id", GUID, nullable=False),
        sa.Column("staff_session_id", GUID, nullable=True),
        sa.Column("target_user_id", GUID, nullable=False),
        sa.Column("org_id", GUID, nullable=True),
        sa.Column("logged_org_ids", JSON, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("write_reason", sa.String(length=500), nullable=False),
        sa.Column("break_glass_reason", sa.String(length=500), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("end_cause", sa.String(length=16), nullable=False),
        sa.Column("expiry_noticed", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_user_id"], ["users.id"], name=op.f("fk_impersonations_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_session_id"],
            ["user_sessions.id"],
            name=op.f("fk_impersonations_staff_session_id_user_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"], ["users.id"], name=op.f("fk_impersonations_target_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_impersonations_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impersonations")),
    )
    op.create_index("ix_impersonations_org_started", "impersonations", ["org_id", "started_at"])
    op.create_index(op.f("ix_impersonations_staff_user_id"), "impersonations", ["staff_user_id"])
    op.create_index(op.f("ix_impersonations_staff_session_id"), "impersonations", ["staff_session_id"])
    op.create_index(op.f("ix_impersonations_target_user_id"), "impersonations", ["target_user_id"])
    op.create_table(
        "support_access_requests",
        sa.Column("id", GUID, nullable=False),
        sa.Column("org_id", GUID, nullable=False),
        sa.Column("staff_user_id", GUID, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decided_by_user_id", GUID, nullable=True),
        sa.Column("access_until", WHEN, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_support_access_requests_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["users.id"],
            name=op.f("fk_support_access_requests_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_support_access_requests_decided_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_access_requests")),
    )
    op.create_index("ix_support_access_requests_org_staff", "support_access_requests", ["org_id", "staff_user_id"])


def downgrade() -> None:
    op.drop_table("support_access_requests")
    op.drop_table("impersonations")
    op.drop_column("org_settings", "support_access")
