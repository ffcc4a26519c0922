from __future__ import annotations

import datetime
import enum
from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"  # may still be accepted (unless past expires_at)
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    REPLACED = "replaced"  # an expired invitation superseded by a new one to the same address


class Invitation(UUIDv7AuditBase):
    __tablename__ = "invitations"
    __table_args__ = (
        # One pending invitation per (org, email).
        Index(
            "uq_invitations_pending_email",
            "org_id",
            "email",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_invitations_org_status_email", "org_id", "status", "email"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=InvitationStatus.PENDING.value)
    invited_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    inviter_name: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(String(1000), default="")
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    sent_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class InvitationRole(DefaultBase):
    __tablename__ = "invitation_roles"

    invitation_id: Mapped[UUID] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class InvitationGroup(DefaultBase):
    __tablename__ = "invitation_groups"

    invitation_id: Mapped[UUID] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
