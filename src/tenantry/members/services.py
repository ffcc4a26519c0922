"""Membership verbs and the members list."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from text_unidecode import unidecode

from tenantry.access.models import MembershipRole, Role
from tenantry.access.services import grant_role
from tenantry.accounts.models import User
from tenantry.audit.services import Actor, Target, record_event
from tenantry.lib.forms import clean_query_text
from tenantry.lib.pagination import Page, keyset_page
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization


def sort_name_of(name: str) -> str:
    """How a name is sorted and searched: "Ångström" as "angstrom", "北京" as "bei jing"."""
    return fold(name)[:100]


def fold(text: str) -> str:
    return unidecode(text).lower()


async def follow_user_rename(db: AsyncSession, *, user_id: UUID, name: str) -> None:
    """Keep the members lists' sort order right after a user changes their name."""
    await db.execute(update(Membership).where(Membership.user_id == user_id).values(sort_name=sort_name_of(name)))


def membership_target(membership: Membership, user: User) -> Target:
    return Target(type="membership", id=str(membership.id), label=user.email)


async def create_membership(
    db: AsyncSession, *, org: Organization, user: User, roles: list[Role], actor: Actor
) -> Membership:
    membership = Membership(
        org_id=org.id, user_id=user.id, status=MembershipStatus.ACTIVE, sort_name=sort_name_of(user.name)
    )
    db.add(membership)
    await db.flush()
    for role in roles:
        await grant_role(db, membership=membership, role=role)
    record_event(
        db,
        actor=actor,
        action="membership.created",
        org_id=org.id,
        target=membership_target(membership, user),
        after={"user": user.email, "roles": [role.key for role in roles], "status": membership.status},
    )
    await db.flush()
    return membership


async def count_active_members(db: AsyncSession, *, org_id: UUID) -> int:
    statement = select(func.count()).where(Membership.org_id == org_id, Membership.status == MembershipStatus.ACTIVE)
    return int(await db.scalar(statement) or 0)


@dataclass
class MemberRow:
    membership_id: UUID
    user_id: UUID
    name: str
    email: str
    status: str
    joined_at: datetime.datetime
    role_names: list[str] = field(default_factory=list)


def _like_pattern(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_members(
    db: AsyncSession, *, org_id: UUID, search: str = "", cursor: str | None = None, per_page: int = 25
) -> Page[MemberRow]:
    """One page of an org's members by name, with their roles. Two statements, whatever the size."""
    sort_name = Membership.sort_name
    statement = (
        select(Membership.id, User.id, User.name, User.email, Membership.status, Membership.created_at, sort_name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id)
    )
    search = clean_query_text(search)
    if search:
        pattern = _like_pattern(search)
        statement = statement.where(or_(sort_name.like(pattern, escape="\\"), User.email.like(pattern, escape="\\")))
    page = await keyset_page(
        db,
        statement,
        order_by=[sort_name, Membership.id],
        key=lambda row: (row[6], row[0]),
        key_types=(str, UUID),
        cursor=cursor,
        per_page=per_page,
    )
    members = [
        MemberRow(membership_id=row[0], user_id=row[1], name=row[2], email=row[3], status=row[4], joined_at=row[5])
        for row in page.items
    ]
    if members:
        role_rows = await db.execute(
            select(MembershipRole.membership_id, Role.name)
            .join(Role, Role.id == MembershipRole.role_id)
            .where(MembershipRole.membership_id.in_([m.membership_id for m in members]))
            .order_by(Role.name)
        )
        names: dict[UUID, list[str]] = defaultdict(list)
        for membership_id, role_name in role_rows:
            names[membership_id].append(role_name)
        for member in members:
            member.role_names = names.get(member.membership_id, [])
    return Page(items=members, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)
