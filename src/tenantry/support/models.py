"""Impersonations (a staff browser viewing as a customer) and owners' answers to access requests."""

from __future__ import annotations

import datetime
import enum
from uuid import UUID

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class SupportAccess(enum.StrEnum):
    """An org's "Support access" setting."""

    ALLOWED = "allowed"
    APPROVAL = "approval"  # an owner approves each request, for a time they choose
    REFUSED = "refused"  # only a support-admin's break-glass entry, told to the owners at once


class EndCause(enum.StrEnum):
    ENDED = "ended"  # the End button (or signing out)
    EXPIRED = "expired"  # its time ran out


class Impersonation(UUIDv7Base):
    """One staff browser (its session row) viewing the portal as a customer, for a limited time.

    While a row is live (ended_at NULL, expires_at ahead) the session's requests run as
    target_user_id; the staff identity comes back as soon as it ends, since it never left the
    session row."""

    __tablename__ = "impersonations"
    __table_args__ = (Index("ix_impersonations_org_started", "org_id", "started_at"),)

    staff_user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The browser doing it; NULL once that session is gone (the row stays, as history).
    staff_session_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="SET NULL"), index=True, default=None
    )
    target_user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Started from an org's page ("view as an admin of this org"); NULL: from a user's page.
    org_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), default=None)
    # The orgs whose activity logs were told it started (and will be told it ended).
    logged_org_ids: Mapped[list] = mapped_column(JsonB, default=list)
    reason: Mapped[str] = mapped_column(String(500))
    ticket: Mapped[str] = mapped_column(String(100), default="")
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    write_reason: Mapped[str] = mapped_column(String(500), default="")
    break_glass_reason: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    end_cause: Mapped[str] = mapped_column(String(16), default="")
    # An expiry the staff browser hasn't been told of yet: its next request is told, and if that
    # request was a form sent from a customer's page, it is refused rather than done as staff.
    expiry_noticed: Mapped[bool] = mapped_column(Boolean, default=False)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class SupportAccessRequest(UUIDv7Base):
    """A staff member asking an org's owners for access (its setting: approval)."""

    __tablename__ = "support_access_requests"
    __table_args__ = (Index("ix_support_access_requests_org_staff", "org_id", "staff_user_id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    staff_user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    ticket: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value)
    requested_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    decided_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    decided_by_user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # Approved: support may enter until then.
    access_until: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
