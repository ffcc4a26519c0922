"""Metadata verbs (change an org's, change a user's) and the staff directory's searches."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Select, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.sql.elements import ColumnElement

from tenantry.access.permissions import Permission
from tenantry.access.services import authority
from tenantry.accounts.models import User
from tenantry.accounts.services import require_staff, user_target
from tenantry.audit.services import Actor, record_event
from tenantry.db.locks import lock_row
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import clean_query_text
from tenantry.lib.pagination import Page, keyset_page
from tenantry.members.models import Membership, MembershipStatus
from tenantry.metadata.rules import (
    BOOLEAN,
    NUMBER,
    Metadata,
    MetadataRow,
    Value,
    metadata_from_rows,
    serialized,
    type_of,
)
from tenantry.orgs.models import Organization
from tenantry.orgs.services import org_target

PER_PAGE = 50


async def change_org_metadata(
    db: AsyncSession, *, org: Organization, rows: Sequence[MetadataRow], actor: Actor
) -> bool:
    """Replace the org's metadata with what the rows say. Returns whether anything changed;
    InvalidInput (and nothing changed) when any row is wrong or the whole is over 16 KB."""
    meta = metadata_from_rows(rows)
    # Locks the org (two editors saving at once: the second starts from the first's result) and
    # asks, under the lock, whether the actor still manages it.
    await authority(db, org=org, actor=actor, require=Permission.ORG_MANAGE)
    await db.refresh(org, ["meta"])
    before = dict(org.meta or {})
    if serialized(before) == serialized(meta):
        return False
    org.meta = meta
    flag_modified(org, "meta")  # {"a": 1} == {"a": True} in Python: without this, no UPDATE
    record_event(
        db,
        actor=actor,
        action="org.metadata_changed",
        org_id=org.id,
        target=org_target(org),
        before={"metadata": before},
        after={"metadata": meta},
    )
    await db.flush()
    return True


async def change_user_metadata(db: AsyncSession, *, user: User, rows: Sequence[MetadataRow], actor: Actor) -> bool:
    """Replace a user's metadata (staff do this). Returns whether anything changed."""
    meta = metadata_from_rows(rows)
    await require_staff(db, actor)
    await lock_row(db, User, user.id)  # before reading what is there
    await db.refresh(user, ["meta"])
    before = dict(user.meta or {})
    if serialized(before) == serialized(meta):
        return False
    user.meta = meta
    flag_modified(user, "meta")
    record_event(
        db,
        actor=actor,
        action="user.metadata_changed",
        target=user_target(user),
        before={"metadata": before},
        after={"metadata": meta},
    )
    await db.flush()
    return True


async def find_user(db: AsyncSession, *, user_id: UUID) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound
    return user


# --- the staff directory -------------------------------------------------------------------


@dataclass(frozen=True)
class OrgRow:
    id: UUID
    name: str
    slug: str
    created_at: datetime.datetime
    member_count: int
    meta: Metadata
    plan_key: str | None = None
    last_activity_at: datetime.datetime | None = None
    deleted_at: datetime.datetime | None = None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def metadata_matches(column: ColumnElement, key: str, value: Value, *, dialect: str) -> ColumnElement[bool]:
    """`column` (a metadata JSON column) holds `value` under `key`, with its type: the number 50
    matches 50 (or 50.0), not the text "50"; true matches the boolean only.

    PostgreSQL: JSONB containment, which the GIN index on organizations.metadata answers.
    SQLite: json_type and json_extract on the path."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).contains({key: value})
    path = f'$."{key}"'  # keys are [a-z0-9_.-]: nothing in them needs escaping inside the quotes
    kind = func.json_type(column, path)
    kind_of_value = type_of(value)
    if kind_of_value == BOOLEAN:
        return kind == ("true" if value else "false")
    if kind_of_value == NUMBER:
        return (kind.in_(["integer", "real"])) & (func.json_extract(column, path) == value)
    return (kind == "text") & (func.json_extract(column, path) == value)


async def search_orgs(
    db: AsyncSession,
    *,
    text: str = "",
    meta: tuple[str, Value] | None = None,
    cursor: str | None = None,
    per_page: int = PER_PAGE,
) -> Page[OrgRow]:
    """Orgs whose name, slug or an active member's email holds `text` (and, if asked, with a
    metadata value); keyset pages by (name, id); each with its active member count. One statement:
    the email is an EXISTS over the org's memberships, so an org with many matching members is
    listed once."""
    members = (
        select(func.count())
        .where(Membership.org_id == Organization.id, Membership.status == MembershipStatus.ACTIVE)
        .correlate(Organization)
        .scalar_subquery()
        .label("member_count")
    )
    statement: Select = select(
        Organization.id,
        Organization.name,
        Organization.slug,
        Organization.created_at,
        members,
        Organization.meta,
        Organization.plan_key,
        Organization.last_activity_at,
        Organization.deleted_at,
    )
    text = clean_query_text(text)
    if text:
        pattern = _like(text)
        member_email = (
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.org_id == Organization.id,
                Membership.status == MembershipStatus.ACTIVE,
                User.email.like(pattern, escape="\\"),  # stored lower-case
            )
            .correlate(Organization)
            .exists()
        )
        statement = statement.where(
            or_(
                func.lower(Organization.name).like(pattern, escape="\\"),
                Organization.slug.like(pattern, escape="\\"),
                member_email,
            )
        )
    if meta is not None:
        statement = statement.where(metadata_matches(Organization.meta, *meta, dialect=db.bind.dialect.name))
    page = await keyset_page(
        db,
        statement,
        order_by=[Organization.name, Organization.id],
        key=lambda row: (row.name, row.id),
        key_types=(str, UUID),
        cursor=cursor,
        per_page=per_page,
    )
    items = [
        OrgRow(
            id=row.id,
            name=row.name,
            slug=row.slug,
            created_at=row.created_at,
            member_count=row.member_count,
            meta=row.meta or {},
            plan_key=row.plan_key,
            last_activity_at=row.last_activity_at,
            deleted_at=row.deleted_at,
        )
        for row in page.items
    ]
    return Page(items=items, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


async def search_users(
    db: AsyncSession, *, text: str = "", cursor: str | None = None, per_page: int = PER_PAGE
) -> Page[User]:
    """Users by email or name (case ignored), keyset pages by (email, id). One statement."""
    statement: Select = select(User)
    text = clean_query_text(text)
    if text:
        pattern = _like(text)
        statement = statement.where(
            or_(User.email.like(pattern, escape="\\"), func.lower(User.name).like(pattern, escape="\\"))
        )
    page = await keyset_page(
        db,
        statement,
        order_by=[User.email, User.id],
        key=lambda row: (row[0].email, row[0].id),
        key_types=(str, UUID),
        cursor=cursor,
        per_page=per_page,
    )
    return Page(items=[row[0] for row in page.items], next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)
