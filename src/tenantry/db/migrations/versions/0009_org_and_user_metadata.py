"""Custom metadata (key/value JSON) on organizations and users; a GIN index for staff search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


# Plain ADD COLUMN (no batch mode): with a constant default, SQLite and PostgreSQL both add the
# column without copying or rewriting the table, and existing rows read as {}.
def upgrade() -> None:
    op.add_column("organizations", sa.Column("metadata", _json(), server_default=sa.text("'{}'"), nullable=False))
    op.add_column("users", sa.Column("metadata", _json(), server_default=sa.text("'{}'"), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # JSONB containment (metadata @> '{"industry": "food"}') for the staff directory.
        op.create_index(
            "ix_organizations_metadata", "organizations", ["metadata"], unique=False, postgresql_using="gin"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_organizations_metadata", table_name="organizations")
    op.drop_column("users", "metadata")
    op.drop_column("organizations", "metadata")
