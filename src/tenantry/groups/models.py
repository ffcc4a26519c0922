from __future__ import annotations

import datetime
from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class Group(UUIDv7AuditBase):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("org_id", "name_key"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # The name folded for uniqueness: "Engineering" and "engineering " are the same group.
    name_key: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")


class GroupMember(DefaultBase):
    """A member of the org in a group. Keyed by membership: leaving the org leaves its groups,
    and a deactivated member keeps their groups for when they come back."""

    __tablename__ = "group_members"

    group_id: Mapped[UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    membership_id: Mapped[UUID] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class GroupRole(DefaultBase):
    """A role given to a whole group: every active member of the group holds it."""

    __tablename__ = "group_roles"

    group_id: Mapped[UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True)
