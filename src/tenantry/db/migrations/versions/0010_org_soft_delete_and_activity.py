"""Organizations: soft delete (deleted_at, kept for the restore window) and last activity

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD COLUMN (nullable, no default): no table rebuild on SQLite, no rewrite on PostgreSQL.
def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )
    op.add_column(
        "organizations",
        sa.Column("last_activity_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )
    op.create_index("ix_organizations_deleted_at_id", "organizations", ["deleted_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_organizations_deleted_at_id", table_name="organizations")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("last_activity_at")
        batch_op.drop_column("deleted_at")
