"""An index for an org's activity filtered to one action

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Not in batch mode: that could rebuild the table on SQLite and drop its append-only trigger. On
# PostgreSQL, CONCURRENTLY: every write adds an audit event, and a plain CREATE INDEX on a long
# log would hold them all up while it builds.
def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_audit_events_org_id_action_id",
                "audit_events",
                ["org_id", "action", "id"],
                unique=False,
                postgresql_concurrently=True,
            )
    else:
        op.create_index("ix_audit_events_org_id_action_id", "audit_events", ["org_id", "action", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_org_id_action_id", table_name="audit_events")
