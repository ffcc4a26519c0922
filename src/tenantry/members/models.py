from __future__ import annotations

import enum
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"  # invited or provisioned, not yet joined
    ACTIVE = "active"
    INACTIVE = "inactive"  # deactivated: roles and groups kept, access cut


class Membership(UUIDv7AuditBase):
    """A user's place in an org. ``created_at`` is the joined date."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id"),
        Index("ix_memberships_user_status", "user_id", "status"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.ACTIVE.value)
