from __future__ import annotations

from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column


class Role(UUIDv7AuditBase):
    """A named set of permissions.

    ``org_id`` None: a template that exists in every org (owner, admin, member, and any the
    deployment declares). Otherwise a role an org defined for itself.
    """

    __tablename__ = "roles"
    __table_args__ = (
        Index(
            "uq_roles_template_key",
            "key",
            unique=True,
            sqlite_where=text("org_id IS NULL"),
            postgresql_where=text("org_id IS NULL"),
        ),
        Index(
            "uq_roles_org_key",
            "org_id",
            "key",
            unique=True,
            sqlite_where=text("org_id IS NOT NULL"),
            postgresql_where=text("org_id IS NOT NULL"),
        ),
    )

    org_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), default=None, index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class RolePermission(DefaultBase):
    __tablename__ = "role_permissions"

    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(100), primary_key=True)


class MembershipRole(DefaultBase):
    """A role held directly by a member."""

    __tablename__ = "membership_roles"

    membership_id: Mapped[UUID] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True)
