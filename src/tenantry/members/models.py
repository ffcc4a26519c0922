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
        Index("ix_memberships_org_status", "org_id", "status"),
        # The members page walks this index in order: a page costs the same in a 10k-member org.
        Index("ix_memberships_org_sort_name", "org_id", "sort_name", "id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.ACTIVE.value)
    # The member's name folded to lower-case ASCII ("Ångström" -> "angstrom"), copied here so the
    # list can be sorted and searched, accents or not, without touching every user row.
    sort_name: Mapped[str] = mapped_column(String(100), default="")
