from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow
from tenantry.orgs.logos import logo_url


class Organization(UUIDv7AuditBase):
    __tablename__ = "organizations"
    __table_args__ = (
        # Staff find orgs by a metadata value with JSONB containment (@>). SQLite has no GIN
        # index (it reads the value with json_extract), so the index exists on PostgreSQL only.
        Index("ix_organizations_metadata", "metadata", postgresql_using="gin").ddl_if(dialect="postgresql"),
        # Staff's list of deleted orgs, newest first, and the purge's search for expired ones.
        Index("ix_organizations_deleted_at_id", "deleted_at", "id"),
    )

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

    # The org's own cap on active members plus pending invitations, below its plan's; None: the plan's.
    seat_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    # Key of its plan in the deployment's plan catalog; None (or a key no longer declared): the default.
    plan_key: Mapped[str | None] = mapped_column(String(32), default=None)
    # Custom key/value data (string, number, true/false), checked by tenantry.metadata.rules.
    # `meta`, not `metadata`: that name belongs to SQLAlchemy's declarative base.
    meta: Mapped[dict] = mapped_column("metadata", JsonB, default=dict, server_default=text("'{}'"))

    # Set when an owner deletes the org: from then on it is hidden from everyone (404, no switcher
    # entry, invitations refused) but kept, with everything in it, so support can restore it
    # within TENANTRY_ORG_RESTORE_DAYS; `tenantry purge` removes it for good after that. Who
    # deleted it is in the org.deleted audit event.
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # When a member last made a request to the org; bumped at most every few minutes
    # (orgs/lifecycle.py: note_activity).
    last_activity_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

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


class PersonalWorkspace(DefaultBase):
    """Marks an org as a user's personal workspace, made with their account (TENANTRY_PERSONAL_WORKSPACES).

    It is shown apart in their switcher and doesn't count toward their TENANTRY_MAX_ORGS_PER_USER.
    A table of its own rather than a column: one per user (the unique user_id), and deleting either
    side removes only the mark.
    """

    __tablename__ = "personal_workspaces"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)


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
    # "Support access" (support/models.py SupportAccess); NULL: TENANTRY_SUPPORT_ACCESS.
    support_access: Mapped[str | None] = mapped_column(String(16), default=None)
