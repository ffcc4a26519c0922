"""Membership verbs and the members list."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from text_unidecode import unidecode

from tenantry.access.models import MembershipRole, Role
from tenantry.access.services import grant_role, role_sort_key
from tenantry.accounts.models import User
from tenantry.audit.services import Actor, Target, record_event
from tenantry.groups.models import Group, GroupMember
from tenantry.lib.errors import NotFound
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


@dataclass(frozen=True)
class RoleRef:
    id: UUID
    key: str
    name: str


@dataclass(frozen=True)
class GroupRef:
    id: UUID
    name: str


@dataclass
class MemberRow:
    membership_id: UUID
    user_id: UUID
    name: str
    email: str
    status: str
    joined_at: datetime.datetime
    roles: list[RoleRef] = field(default_factory=list)  # held directly
    groups: list[GroupRef] = field(default_factory=list)

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]


def _like_pattern(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def member_search_filter(search: str) -> list:
    """Matches a name (accents and case ignored) or an email address containing `search`."""
    search = clean_query_text(search)
    if not search:
        return []
    pattern = _like_pattern(search)
    return [or_(Membership.sort_name.like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))]


async def find_member(db: AsyncSession, *, org_id: UUID, membership_id: UUID) -> tuple[Membership, User]:
    """A membership of this org, with its user; any other id is NotFound."""
    row = (
        await db.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.id == membership_id, Membership.org_id == org_id)
        )
    ).first()
    if row is None:
        raise NotFound
    return row[0], row[1]


async def list_members(
    db: AsyncSession,
    *,
    org_id: UUID,
    search: str = "",
    cursor: str | None = None,
    per_page: int = 25,
    in_group: UUID | None = None,
    only_ids: Select | None = None,
    status: str | None = None,
) -> Page[MemberRow]:
    """One page of an org's members by name, with their direct roles and their groups.

    `in_group` narrows to a group's members; `only_ids` to memberships a subquery selects (e.g.
    the holders of a permission); `status` to active or deactivated ones. Three statements,
    whatever the org's size.
    """
    statement = (
        select(
            Membership.id,
            User.id,
            User.name,
            User.email,
            Membership.status,
            Membership.created_at,
            Membership.sort_name,
        )
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, *member_search_filter(search))
    )
    if in_group is not None:
        statement = statement.join(
            GroupMember, and_(GroupMember.membership_id == Membership.id, GroupMember.group_id == in_group)
        )
    if only_ids is not None:
        statement = statement.where(Membership.id.in_(only_ids))
    if status is not None:
        statement = statement.where(Membership.status == status)
    page = await keyset_page(
        db,
        statement,
        order_by=[Membership.sort_name, Membership.id],
        key=lambda row: (row[6], row[0]),
        key_types=(str, UUID),
        cursor=cursor,
        per_page=per_page,
    )
    members = [
        MemberRow(membership_id=row[0], user_id=row[1], name=row[2], email=row[3], status=row[4], joined_at=row[5])
        for row in page.items
    ]
    await _attach_roles_and_groups(db, org_id=org_id, members=members)
    return Page(items=members, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


async def member_row(db: AsyncSession, *, org_id: UUID, membership_id: UUID) -> MemberRow:
    """One member as a row of the members list (after an inline change)."""
    only = select(Membership.id).where(Membership.id == membership_id)
    page = await list_members(db, org_id=org_id, only_ids=only, per_page=1)
    if not page.items:
        raise NotFound
    return page.items[0]


async def attach_roles(db: AsyncSession, *, org_id: UUID, members: list[MemberRow]) -> None:
    """Each row's direct roles, in the order roles are listed everywhere. One statement."""
    if not members:
        return
    roles: dict[UUID, list[RoleRef]] = defaultdict(list)
    for membership_id, role_id, key, name in await db.execute(
        select(MembershipRole.membership_id, Role.id, Role.key, Role.name)
        .join(Role, Role.id == MembershipRole.role_id)
        .where(
            MembershipRole.membership_id.in_([m.membership_id for m in members]),
            or_(Role.org_id.is_(None), Role.org_id == org_id),
        )
    ):
        roles[membership_id].append(RoleRef(role_id, key, name))
    for member in members:
        member.roles = sorted(roles.get(member.membership_id, []), key=lambda r: role_sort_key(r.key, r.name))


async def _attach_roles_and_groups(db: AsyncSession, *, org_id: UUID, members: list[MemberRow]) -> None:
    if not members:
        return
    await attach_roles(db, org_id=org_id, members=members)
    ids = [m.membership_id for m in members]
    groups: dict[UUID, list[GroupRef]] = defaultdict(list)
    for membership_id, group_id, name in await db.execute(
        select(GroupMember.membership_id, Group.id, Group.name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.membership_id.in_(ids), Group.org_id == org_id)
        .order_by(Group.name_key)
    ):
        groups[membership_id].append(GroupRef(group_id, name))
    for member in members:
        member.groups = groups.get(member.membership_id, [])
