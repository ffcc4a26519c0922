from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow
from tenantry.orgs.logos import logo_url


class Organization(UUIDv7AuditBase):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    brand_color: Mapped[str | None] = mapped_column(String(7), default=None)
    # Content hash of the current logo; the bytes live in org_logos so org queries stay small.
    logo_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    # The role a new member gets; None means the deployment's default (TENANTRY_DEFAULT_ROLE).
    default_role_id: Mapped[UUID | None] = mapped_column(
        # use_alter: roles also point at organizations; the constraint is added after both tables.
        ForeignKey("roles.id", ondelete="SET NULL", use_alter=True, name="fk_organizations_default_role_id_roles"),
        default=None,
    )

    # At most this many active members plus pending invitations; None: no limit.
    seat_limit: Mapped[int | None] = mapped_column(Integer, default=None)

    @property
    def logo_url(self) -> str | None:
        return logo_url(self.id, self.logo_sha256)


class OrgLogo(DefaultBase):
    __tablename__ = "org_logos"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    byte_size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class SlugRedirect(DefaultBase):
    """A slug an org used before; its old URLs redirect permanently, and nobody else may take it."""

    __tablename__ = "org_slug_redirects"

    old_slug: Mapped[str] = mapped_column(String(48), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class OrgSettingsOverrides(DefaultBase):
    """What an org chose instead of the deployment's defaults; NULL: the default applies.

    The effective values, each with its source, are computed in orgs/settings.py. (The default
    role is organizations.default_role_id, older than this table.)"""

    __tablename__ = "org_settings"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    invitation_expiry_days: Mapped[int | None] = mapped_column(Integer, default=None)
    invitation_email_domains: Mapped[list[Any] | None] = mapped_column(JsonB, default=None)
    session_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    members_see_each_other: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # Kept for the activity log's retention per org (no page yet).
    audit_retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
