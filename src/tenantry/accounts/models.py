from __future__ import annotations

import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class User(UUIDv7AuditBase):
    __tablename__ = "users"

    # Stored lower-cased; one account per address (per user pool, when isolated orgs arrive).
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # None for accounts created without a password (invited or provisioned, not yet set up).
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    email_verified_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_role: Mapped[str | None] = mapped_column(String(32), default=None)
    last_org_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), default=None)


class UserSession(UUIDv7Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "user_sessions"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
