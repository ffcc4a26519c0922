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


# A plain CREATE INDEX: batch mode could rebuild the table on SQLite and drop its append-only trigger.
def upgrade() -> None:
    op.create_index("ix_audit_events_org_id_action_id", "audit_events", ["org_id", "action", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_org_id_action_id", table_name="audit_events")
