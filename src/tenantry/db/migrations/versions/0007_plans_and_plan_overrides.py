"""Plans: the plan of each org, and the overrides support grants

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: an org without a plan is on the deployment's default plan.
    op.add_column("organizations", sa.Column("plan_key", sa.String(length=32), nullable=True))
    op.create_table(
        "plan_overrides",
        sa.Column("org_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("extra_seats", sa.Integer(), nullable=False),
        sa.Column("extra_features", sa.JSON(), nullable=False),
        sa.Column("ends_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_plan_overrides_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_plan_overrides_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_plan_overrides")),
    )


def downgrade() -> None:
    op.drop_table("plan_overrides")
    op.drop_column("organizations", "plan_key")
