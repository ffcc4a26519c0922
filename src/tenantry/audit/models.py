from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class AuditEvent(UUIDv7Base):
    """One change, as it happened. Rows are only ever inserted.

    No foreign keys on purpose: the record outlives the org, user or row it speaks of, so labels
    are copied at the time of the event. The UUIDv7 id orders events by time for keyset paging.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_id_id", "org_id", "id"),
        Index("ix_audit_events_actor_user_id_id", "actor_user_id", "id"),
        Index("ix_audit_events_action", "action"),
        # An org's log filtered to one action, newest first, without walking its other events.
        Index("ix_audit_events_org_id_action_id", "org_id", "action", "id"),
    )

    occurred_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[UUID | None] = mapped_column(default=None)
    actor_user_id: Mapped[UUID | None] = mapped_column(default=None)
    actor_label: Mapped[str] = mapped_column(String(420), default="")
    impersonator_user_id: Mapped[UUID | None] = mapped_column(default=None)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_label: Mapped[str] = mapped_column(String(420), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
