"""Group verbs: create, rename, delete; add and remove members; give roles to a whole group."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Role
from tenantry.access.permissions import Permission
from tenantry.access.services import RoleInfo, authority, check_may_grant, role_sort_key, roles_of_org, still_exists
from tenantry.accounts.models import User
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.members.models import Membership
from tenantry.members.services import fold
from tenantry.orgs.models import Organization
from tenantry.plans.catalog import Feature


def group_target(group: Group) -> Target:
    return Target(type="group", id=str(group.id), label=group.name)


def name_key_of(name: str) -> str:
    """The name as compared: "Engineering", " engineering" and "ENGINEERING" are one group."""
    # Names of emoji or symbols only fold to nothing: then they are compared as written.
    return " ".join((fold(name).strip() or name.casefold()).split())[:64]


async def find_group(db: AsyncSession, *, org_id: UUID, group_id: UUID) -> Group:
    group = await db.scalar(select(Group).where(Group.id == group_id, Group.org_id == org_id))
    if group is None:
        raise NotFound
    return group


async def _name_is_free(db: AsyncSession, *, org_id: UUID, name: str, except_id: UUID | None = None) -> bool:
    statement = select(Group.id).where(Group.org_id == org_id, Group.name_key == name_key_of(name))
    if except_id is not None:
        statement = statement.where(Group.id != except_id)
    return await db.scalar(statement) is None


def _name_taken(name: str) -> InvalidInput:
    return InvalidInput.on("name", f"There is already a group called “{name}”.")


async def create_group(
    db: AsyncSession, *, settings: Settings, org: Organization, name: str, description: str, actor: Actor
) -> Group:
    """A group of the org's members; only on a plan with groups."""
    from tenantry.plans.services import require_feature  # plans counts groups: it imports this package

    await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    await require_feature(db, settings, org, Feature.GROUPS)
    if not await _name_is_free(db, org_id=org.id, name=name):
        raise _name_taken(name)
    group = Group(org_id=org.id, name=name, name_key=name_key_of(name), description=description)
    db.add(group)
    await db.flush()
    record_event(
        db,
        actor=actor,
        action="group.created",
        org_id=org.id,
        target=group_target(group),
        after={"name": name, "description": description},
    )
    await db.flush()
    return group


async def update_group(
    db: AsyncSession, *, org: Organization, group: Group, name: str, description: str, actor: Actor
) -> bool:
    await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    await still_exists(db, Group, group.id)
    before = {"name": group.name, "description": group.description}
    after = {"name": name, "description": description}
    if before == after:
        return False
    if name != group.name and not await _name_is_free(db, org_id=org.id, name=name, except_id=group.id):
        raise _name_taken(name)
    group.name, group.name_key, group.description = name, name_key_of(name), description
    await db.flush()
    action = "group.renamed" if before["name"] != name else "group.updated"
    record_event(db, actor=actor, action=action, org_id=org.id, target=group_target(group), before=before, after=after)
    await db.flush()
    return True


async def delete_group(db: AsyncSession, *, org: Organization, group: Group, actor: Actor) -> None:
    """Members leave the group and lose the roles it gave them; they stay in the org."""
    await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    await still_exists(db, Group, group.id)
    members = await db.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group.id))
    roles = list(
        await db.scalars(
            select(Role.key).join(GroupRole, GroupRole.role_id == Role.id).where(GroupRole.group_id == group.id)
        )
    )
    record_event(
        db,
        actor=actor,
        action="group.deleted",
        org_id=org.id,
        target=group_target(group),
        before={
            "name": group.name,
            "description": group.description,
            "members": int(members or 0),
            "roles": sorted(roles),
        },
    )
    await db.delete(group)
    await db.flush()


async def _group_role_infos(db: AsyncSession, *, org_id: UUID, group_id: UUID) -> list[RoleInfo]:
    held = set(await db.scalars(select(GroupRole.role_id).where(GroupRole.group_id == group_id)))
    return [info for info in await roles_of_org(db, org_id=org_id) if info.role.id in held]


async def add_group_member(
    db: AsyncSession,
    *,
    org: Organization,
    group: Group,
    membership: Membership,
    member_label: str,
    actor: Actor,
) -> bool:
    """Put a member in a group: they hold its roles from their very next request.

    Joining a group grants its roles, so the granting rule applies to them."""
    if membership.org_id != org.id:
        raise NotFound
    access = await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    await still_exists(db, Group, group.id)
    await still_exists(db, Membership, membership.id)
    already = await db.scalar(
        select(GroupMember.group_id).where(GroupMember.group_id == group.id, GroupMember.membership_id == membership.id)
    )
    if already is not None:
        return False
    check_may_grant(access, await _group_role_infos(db, org_id=org.id, group_id=group.id), field="member")
    await join_groups(db, org=org, groups=[group], membership=membership, member_label=member_label, actor=actor)
    return True


async def join_groups(
    db: AsyncSession,
    *,
    org: Organization,
    groups: list[Group],
    membership: Membership,
    member_label: str,
    actor: Actor,
) -> None:
    """Put a member in groups the caller has cleared (a newcomer's, checked when they were
    chosen), each arrival in the group's history."""
    db.add_all([GroupMember(group_id=group.id, membership_id=membership.id) for group in groups])
    await db.flush()
    for group in groups:
        record_event(
            db,
            actor=actor,
            action="group.member_added",
            org_id=org.id,
            target=group_target(group),
            after={"member": member_label},
        )
    await db.flush()


async def remove_group_member(
    db: AsyncSession, *, org: Organization, group: Group, membership: Membership, member_label: str, actor: Actor
) -> bool:
    """Take a member out of a group: the roles it gave them are gone on their next request."""
    await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    result = await db.execute(
        delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.membership_id == membership.id)
    )
    if not result.rowcount:
        return False
    record_event(
        db,
        actor=actor,
        action="group.member_removed",
        org_id=org.id,
        target=group_target(group),
        before={"member": member_label},
    )
    await db.flush()
    return True


async def set_group_roles(
    db: AsyncSession,
    *,
    org: Organization,
    group: Group,
    role_ids: set[UUID],
    actor: Actor,
) -> bool:
    """Make the group's roles exactly `role_ids`: every member holds them through the group."""
    access = await authority(db, org=org, actor=actor, require=Permission.GROUPS_MANAGE)
    await still_exists(db, Group, group.id)
    available = {info.role.id: info for info in await roles_of_org(db, org_id=org.id)}
    if role_ids - set(available):
        raise NotFound
    if any(available[role_id].is_owner for role_id in role_ids):
        raise NotPermitted.on("roles", "Owner is held by people, not groups: give it to a member directly.")
    held = set(await db.scalars(select(GroupRole.role_id).where(GroupRole.group_id == group.id))) & set(available)
    added, removed = role_ids - held, held - role_ids
    if not added and not removed:
        return False
    check_may_grant(access, [available[role_id] for role_id in added])
    if removed:
        await db.execute(delete(GroupRole).where(GroupRole.group_id == group.id, GroupRole.role_id.in_(removed)))
    for role_id in sorted(added):
        db.add(GroupRole(group_id=group.id, role_id=role_id))
    for role_id, action in [(r, "group.role_given") for r in added] + [(r, "group.role_taken") for r in removed]:
        role = available[role_id].role
        record_event(
            db,
            actor=actor,
            action=action,
            org_id=org.id,
            target=group_target(group),
            before=None if action == "group.role_given" else {"role": role.key, "role_name": role.name},
            after={"role": role.key, "role_name": role.name} if action == "group.role_given" else None,
        )
    await db.flush()
    return True


@dataclass
class GroupSummary:
    group: Group
    member_count: int = 0
    role_names: list[str] = field(default_factory=list)


async def groups_of_org(db: AsyncSession, *, org_id: UUID) -> list[GroupSummary]:
    """Every group of the org with its member count and roles, by name. Three statements."""
    groups = list(await db.scalars(select(Group).where(Group.org_id == org_id).order_by(Group.name_key)))
    summaries = {group.id: GroupSummary(group=group) for group in groups}
    if not groups:
        return []
    counts = (
        select(GroupMember.group_id, func.count())
        .where(GroupMember.group_id.in_(summaries))
        .group_by(GroupMember.group_id)
    )
    for group_id, count in await db.execute(counts):
        summaries[group_id].member_count = count
    roles = (
        select(GroupRole.group_id, Role.key, Role.name)
        .join(Role, Role.id == GroupRole.role_id)
        .where(GroupRole.group_id.in_(summaries))
    )
    by_group: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    for group_id, key, name in await db.execute(roles):
        by_group[group_id].append((key, name))
    for group_id, held in by_group.items():
        summaries[group_id].role_names = [name for key, name in sorted(held, key=lambda r: role_sort_key(*r))]
    return list(summaries.values())


async def group_role_ids(db: AsyncSession, *, group_id: UUID) -> set[UUID]:
    return set(await db.scalars(select(GroupRole.role_id).where(GroupRole.group_id == group_id)))


async def groups_of_member(db: AsyncSession, *, membership_id: UUID) -> list[Group]:
    return list(
        await db.scalars(
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.membership_id == membership_id)
            .order_by(Group.name_key)
        )
    )


@dataclass(frozen=True)
class Candidate:
    membership_id: UUID
    name: str
    email: str


async def members_not_in_group(
    db: AsyncSession, *, org_id: UUID, group_id: UUID, search: str, limit: int = 8
) -> list[Candidate]:
    """Search-as-you-type for "add to group": the org's members matching `search`, not in it yet."""
    from tenantry.members.services import member_search_filter

    in_group = select(GroupMember.membership_id).where(GroupMember.group_id == group_id)
    rows = await db.execute(
        select(Membership.id, User.name, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, Membership.id.not_in(in_group), *member_search_filter(search))
        .order_by(Membership.sort_name, Membership.id)
        .limit(limit)
    )
    return [Candidate(membership_id=row[0], name=row[1], email=row[2]) for row in rows]
