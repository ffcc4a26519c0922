"""Who may do what: the resolver of effective permissions, roles and their rules."""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from slugify import slugify
from sqlalchemy import Select, String, and_, bindparam, delete, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import ROLE_KEY, Catalog
from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.access.permissions import BuiltinRole, Permission
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.db.locks import lock_row
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import words
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization
from tenantry.plans.catalog import Feature

logger = logging.getLogger("tenantry")


# --- the resolver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldRole:
    id: UUID
    key: str
    name: str
    group_name: str | None = None  # None: held directly
    is_template: bool = True

    @property
    def label(self) -> str:
        return f"{self.name} (via {self.group_name})" if self.group_name else self.name


@dataclass(frozen=True)
class PermissionSource:
    """Why someone holds a permission: via role Admin, via group Engineering → role Developer."""

    role_name: str
    group_name: str | None = None

    def __str__(self) -> str:
        if self.group_name:
            return f"via group {self.group_name} → role {self.role_name}"
        return f"via role {self.role_name}"


@dataclass
class EffectivePermissions:
    """What a user may do in one org, each permission with where it comes from."""

    roles: list[HeldRole] = field(default_factory=list)  # direct roles, then roles through groups
    sources: dict[str, list[PermissionSource]] = field(default_factory=dict)
    system: bool = False  # the command line, a background job or an app key: full authority
    # An org's API key: every permission, but not an owner's say (making or removing owners).
    every_permission: bool = False

    @classmethod
    def of_system(cls) -> EffectivePermissions:
        return cls(system=True)

    @classmethod
    def of_org_key(cls) -> EffectivePermissions:
        return cls(every_permission=True)

    def has(self, permission: str) -> bool:
        return self.system or self.every_permission or permission in self.sources

    def lacks_any(self, permissions: Iterable[str]) -> list[str]:
        """Which of `permissions` this actor doesn't hold, sorted."""
        if self.system or self.every_permission:
            return []
        return sorted(set(permissions) - set(self.sources))

    def without(self, permission: str) -> EffectivePermissions:
        """The same, less one permission (an org policy takes it away whatever the roles say)."""
        sources = {key: value for key, value in self.sources.items() if key != permission}
        return EffectivePermissions(
            roles=self.roles, sources=sources, system=self.system, every_permission=self.every_permission
        )

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(self.sources)

    @property
    def direct_roles(self) -> list[HeldRole]:
        return [role for role in self.roles if role.group_name is None]

    @property
    def is_owner(self) -> bool:
        return self.system or any(r.key == BuiltinRole.OWNER and r.is_template for r in self.direct_roles)

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.direct_roles]


def _held_roles_statement(org_id: UUID, where: Iterable) -> union_all:
    """Every (role, permission, group) an active membership holds, directly or through its groups."""
    this_org_roles = or_(Role.org_id.is_(None), Role.org_id == org_id)
    direct = (
        select(
            Membership.id.label("membership_id"),
            Role.id,
            Role.key,
            Role.name,
            Role.org_id,
            RolePermission.permission,
            literal(None, String).label("group_name"),
        )
        .select_from(Membership)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .join(Role, Role.id == MembershipRole.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(Membership.org_id == org_id, Membership.status == MembershipStatus.ACTIVE, this_org_roles, *where)
    )
    via_groups = (
        select(
            Membership.id.label("membership_id"),
            Role.id,
            Role.key,
            Role.name,
            Role.org_id,
            RolePermission.permission,
            Group.name.label("group_name"),
        )
        .select_from(Membership)
        .join(GroupMember, GroupMember.membership_id == Membership.id)
        .join(Group, and_(Group.id == GroupMember.group_id, Group.org_id == org_id))
        .join(GroupRole, GroupRole.group_id == Group.id)
        .join(Role, Role.id == GroupRole.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(Membership.org_id == org_id, Membership.status == MembershipStatus.ACTIVE, this_org_roles, *where)
    )
    return union_all(direct, via_groups)


def _collect(rows: Iterable) -> EffectivePermissions:
    roles: dict[tuple[UUID, str | None], HeldRole] = {}
    sources: dict[str, list[PermissionSource]] = defaultdict(list)
    for _membership_id, role_id, key, name, role_org_id, permission, group_name in rows:
        roles.setdefault((role_id, group_name), HeldRole(role_id, key, name, group_name, role_org_id is None))
        if permission is not None:
            source = PermissionSource(role_name=name, group_name=group_name)
            if source not in sources[permission]:
                sources[permission].append(source)
    ordered = sorted(
        roles.values(), key=lambda r: (r.group_name is not None, r.group_name or "", *role_sort_key(r.key, r.name))
    )
    for found in sources.values():
        found.sort(key=lambda s: (s.group_name is not None, s.group_name or "", s.role_name))
    return EffectivePermissions(roles=ordered, sources=dict(sources))


@functools.cache
def _held_roles_of_user() -> union_all:
    """effective_permissions' statement, built once: it runs on every page and every API check,
    and building it (and its cache key) each time cost as much as running it on SQLite."""
    uuid = Membership.id.type  # the same type as every id column (a foreign key's resolves later)
    user_id = bindparam("user_id", type_=uuid)
    return _held_roles_statement(bindparam("org_id", type_=uuid), [Membership.user_id == user_id])


async def effective_permissions(db: AsyncSession, *, user_id: UUID, org_id: UUID) -> EffectivePermissions:
    """The only answer to "what may this user do in this org": roles held directly and through
    groups, for an active membership only. One SQL statement, whatever the org's size."""
    rows = await db.execute(_held_roles_of_user(), {"org_id": org_id, "user_id": user_id})
    return _collect(rows)


async def effective_permissions_of_members(
    db: AsyncSession, *, org_id: UUID, membership_ids: list[UUID]
) -> dict[UUID, EffectivePermissions]:
    """The same answer for a page of members at once (one statement)."""
    if not membership_ids:
        return {}
    rows = list(await db.execute(_held_roles_statement(org_id, [Membership.id.in_(membership_ids)])))
    by_member: dict[UUID, list] = defaultdict(list)
    for row in rows:
        by_member[row[0]].append(row)
    return {membership_id: _collect(by_member.get(membership_id, [])) for membership_id in membership_ids}


_BUILTIN_ORDER = {BuiltinRole.OWNER.value: 0, BuiltinRole.ADMIN.value: 1, BuiltinRole.MEMBER.value: 2}


def role_sort_key(key: str, name: str) -> tuple[int, str]:
    """Owner, Admin, Member, then other roles by name: the order roles are listed everywhere."""
    return _BUILTIN_ORDER.get(key, 3), name.lower()


# --- role templates ----------------------------------------------------------------------------


async def sync_role_templates(db: AsyncSession, catalog: Catalog) -> None:
    """Make the template roles in the database match the catalog. Safe to run on every start."""
    for template in catalog.role_templates:
        role = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == template.key))
        if role is None:
            role = Role(org_id=None, key=template.key, name=template.name, is_builtin=True)
            try:
                async with db.begin_nested():
                    db.add(role)
                    await db.flush()
            except IntegrityError:  # another instance created it at the same moment
                role = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == template.key))
                assert role is not None
        role.name = template.name
        role.description = template.description
        role.is_builtin = True
        await _set_role_permissions(db, role, set(template.permissions))
    declared = {template.key for template in catalog.role_templates}
    stale = set(await db.scalars(select(Role.key).where(Role.org_id.is_(None), Role.key.not_in(declared))))
    if stale:
        # Not deleted: people hold them. Removing a template is a decision for an operator.
        logger.warning("Role templates no longer declared but still in the database: %s", ", ".join(sorted(stale)))
    await db.flush()


async def _set_role_permissions(db: AsyncSession, role: Role, wanted: set[str]) -> tuple[set[str], set[str]]:
    """Returns (added, removed)."""
    held = set(await db.scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id)))
    if held - wanted:
        await db.execute(
            delete(RolePermission).where(
                RolePermission.role_id == role.id, RolePermission.permission.in_(held - wanted)
            )
        )
    for permission in sorted(wanted - held):
        db.add(RolePermission(role_id=role.id, permission=permission))
    return wanted - held, held - wanted


async def template_role(db: AsyncSession, key: BuiltinRole | str) -> Role:
    role = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == key))
    if role is None:  # pragma: no cover - sync_role_templates runs at start-up
        msg = f"Role template {key!r} is missing; run `tenantry migrate`."
        raise LookupError(msg)
    return role


# --- roles of an org ---------------------------------------------------------------------------


@dataclass
class RoleInfo:
    role: Role
    permissions: set[str]
    member_count: int = 0
    group_count: int = 0

    @property
    def is_template(self) -> bool:
        return self.role.org_id is None

    @property
    def is_owner(self) -> bool:
        return self.is_template and self.role.key == BuiltinRole.OWNER


async def roles_of_org(db: AsyncSession, *, org_id: UUID, with_counts: bool = False) -> list[RoleInfo]:
    """The templates and the org's own roles, ordered, with their permissions (and, on request,
    how many active members and groups hold each). Two or three statements."""
    roles = list(await db.scalars(select(Role).where(or_(Role.org_id.is_(None), Role.org_id == org_id))))
    permissions: dict[UUID, set[str]] = defaultdict(set)
    for role_id, permission in await db.execute(
        select(RolePermission.role_id, RolePermission.permission).where(
            RolePermission.role_id.in_([role.id for role in roles])
        )
    ):
        permissions[role_id].add(permission)
    infos = {role.id: RoleInfo(role=role, permissions=permissions[role.id]) for role in roles}
    if with_counts:
        members = (
            select(MembershipRole.role_id, func.count())
            .join(Membership, Membership.id == MembershipRole.membership_id)
            .where(Membership.org_id == org_id, Membership.status == MembershipStatus.ACTIVE)
            .group_by(MembershipRole.role_id)
        )
        for role_id, count in await db.execute(members):
            if role_id in infos:
                infos[role_id].member_count = count
        groups = (
            select(GroupRole.role_id, func.count())
            .join(Group, Group.id == GroupRole.group_id)
            .where(Group.org_id == org_id)
            .group_by(GroupRole.role_id)
        )
        for role_id, count in await db.execute(groups):
            if role_id in infos:
                infos[role_id].group_count = count
    return sorted(infos.values(), key=lambda info: role_sort_key(info.role.key, info.role.name))


async def find_role(db: AsyncSession, *, org_id: UUID, role_id: UUID) -> Role:
    """A role this org may use: a template or its own. Any other id is NotFound."""
    role = await db.scalar(select(Role).where(Role.id == role_id, or_(Role.org_id.is_(None), Role.org_id == org_id)))
    if role is None:
        raise NotFound
    return role


async def default_role(db: AsyncSession, *, org: Organization, deployment_default: str) -> Role:
    """The role a new member gets when none is chosen: the org's choice, else the deployment's
    (`deployment_default`: TENANTRY_DEFAULT_ROLE, a role template's key checked at start-up)."""
    if org.default_role_id is not None:
        role = await db.scalar(select(Role).where(Role.id == org.default_role_id))
        if role is not None and role.org_id in (None, org.id):
            return role
    return await template_role(db, deployment_default)


# --- the rules of granting ---------------------------------------------------------------------


def check_may_grant(actor_access: EffectivePermissions, roles: Iterable[RoleInfo], *, field: str = "roles") -> None:
    """Nobody grants what they don't hold. Owners may give anything; nobody else may give the
    owner role, nor a role with a permission they lack themselves."""
    if actor_access.is_owner:
        return
    for info in roles:
        if info.is_owner:
            raise NotPermitted.on(field, "Only owners can make someone an owner.")
        missing = actor_access.lacks_any(info.permissions)
        if missing:
            raise NotPermitted.on(
                field,
                f"You can't give “{info.role.name}”: it includes permissions you don't have "
                f"({', '.join(missing)}). Ask an owner.",
            )


def may_give(actor_access: EffectivePermissions, info: RoleInfo) -> bool:
    """The rule of check_may_grant, asked about one role (to offer only what can be given)."""
    if actor_access.is_owner:
        return True
    return not info.is_owner and not actor_access.lacks_any(info.permissions)


def role_change_refusal(
    actor_access: EffectivePermissions, *, actor_user_id: UUID | None, target_user_id: UUID, target_is_owner: bool
) -> str | None:
    """Why the actor may not change this member's direct roles at all, if they may not. Only
    owners act on owners; nobody else changes their own roles, or an admin could copy a role they
    hold through a group onto themselves, to keep it after leaving the group."""
    if actor_access.is_owner:
        return None
    if actor_user_id is not None and target_user_id == actor_user_id:
        return "You can't change your own roles. Ask an owner."
    if target_is_owner:
        return "This member is an owner; only owners change an owner's roles."
    return None


def may_take(actor_access: EffectivePermissions, info: RoleInfo) -> bool:
    return actor_access.is_owner or not info.is_owner


@dataclass(frozen=True)
class RoleChoice:
    """One checkbox of a role list: held or not, and whether this actor may change it."""

    info: RoleInfo
    held: bool
    changeable: bool


def role_choices(
    actor_access: EffectivePermissions,
    roles: list[RoleInfo],
    held: set[UUID],
    *,
    for_group: bool = False,
    afresh: bool = False,
) -> list[RoleChoice]:
    """Each role, ticked or not, and whether this actor may change that. `afresh`: nobody holds
    the ticked roles yet (an invitation), so what may be ticked is what may be given."""
    choices = []
    for info in roles:
        holds = info.role.id in held
        changeable = may_take(actor_access, info) if holds and not afresh else may_give(actor_access, info)
        if for_group and info.is_owner:
            changeable = False  # owner is held by people, never by a group
        choices.append(RoleChoice(info=info, held=holds, changeable=changeable))
    return choices


def holders_of(org_id: UUID, permission: str) -> Select:
    """The memberships that hold a permission, directly or through a group (a subquery)."""
    held = _held_roles_statement(org_id, [RolePermission.permission == permission]).subquery()
    return select(held.c.membership_id)


def role_target(role: Role) -> Target:
    return Target(type="role", id=str(role.id), label=role.name)  # as people read it; the key is in the data


async def lock_org(db: AsyncSession, org_id: UUID) -> None:
    """Changes to who may do what in one org happen one at a time.

    Two admins demoting each other at once must not leave the org without an owner; a role given
    to a group while someone is being added to it must be seen by that addition.
    """
    await lock_row(db, Organization, org_id)


async def authority(db: AsyncSession, *, org: Organization, actor: Actor, require: str) -> EffectivePermissions:
    """Lock the org, then read what the actor may do *now* (the guard read it before the lock)."""
    await lock_org(db, org.id)
    if actor.org_key:  # an org's own API key: never an owner's say, whoever made it
        return EffectivePermissions.of_org_key()
    if actor.user_id is None:
        return EffectivePermissions.of_system()
    access = await effective_permissions(db, user_id=actor.user_id, org_id=org.id)
    if not access.has(require):
        raise NotPermitted.on("__all__", "You no longer have permission to do this. Reload the page to see why.")
    return access


async def still_exists(db: AsyncSession, model: type, row_id: UUID) -> None:
    """After the lock: the row we are about to change may have been deleted meanwhile."""
    if await db.scalar(select(model.id).where(model.id == row_id)) is None:
        raise NotFound


async def owner_count(db: AsyncSession, *, org_id: UUID) -> int:
    owner = await template_role(db, BuiltinRole.OWNER)
    statement = (
        select(func.count())
        .select_from(MembershipRole)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(
            MembershipRole.role_id == owner.id,
            Membership.org_id == org_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    return int(await db.scalar(statement) or 0)


async def set_member_roles(
    db: AsyncSession,
    *,
    org: Organization,
    membership: Membership,
    role_ids: set[UUID],
    actor: Actor,
    target_label: str,
) -> bool:
    """Make a member's direct roles exactly `role_ids`. Returns whether anything changed.

    Only owners give or take the owner role, and only they change an owner's roles or their own
    (role_change_refusal); nobody gives a role with permissions they lack; the last owner keeps
    the owner role.
    """
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    await still_exists(db, Membership, membership.id)
    status, target_user_id = (
        await db.execute(select(Membership.status, Membership.user_id).where(Membership.id == membership.id))
    ).one()
    available = {info.role.id: info for info in await roles_of_org(db, org_id=org.id)}
    if role_ids - set(available):
        raise NotFound
    held = set(await db.scalars(select(MembershipRole.role_id).where(MembershipRole.membership_id == membership.id)))
    held &= set(available)  # a role of another org, however it got there, is not ours to keep
    added, removed = role_ids - held, held - role_ids
    if not added and not removed:
        return False
    refusal = role_change_refusal(
        access,
        actor_user_id=actor.user_id,
        target_user_id=target_user_id,
        target_is_owner=any(available[role_id].is_owner for role_id in held),
    )
    if refusal:
        raise NotPermitted.on("roles", refusal)
    check_may_grant(access, [available[role_id] for role_id in added])
    removes_owner = any(available[role_id].is_owner for role_id in removed)
    if removes_owner and status == MembershipStatus.ACTIVE and await owner_count(db, org_id=org.id) <= 1:
        raise InvalidInput.on("roles", f"{target_label} is the last owner. Make someone else an owner first.")
    if removed:
        await db.execute(
            delete(MembershipRole).where(
                MembershipRole.membership_id == membership.id, MembershipRole.role_id.in_(removed)
            )
        )
    for role_id in added:
        db.add(MembershipRole(membership_id=membership.id, role_id=role_id))
    record_event(
        db,
        actor=actor,
        action="membership.roles_changed",
        org_id=org.id,
        target=Target(type="membership", id=str(membership.id), label=target_label),
        before={"roles": sorted(available[r].role.key for r in held)},
        after={"roles": sorted(available[r].role.key for r in role_ids)},
    )
    await db.flush()
    return True


async def _free_role_key(db: AsyncSession, *, org_id: UUID, name: str) -> str:
    """A key made from the name ("Support agent" -> support-agent), free in this org."""
    base = slugify(name, max_length=56, word_boundary=True) or "role"
    if not ROLE_KEY.fullmatch(base):  # must start with a letter: "1st line" -> role-1st-line
        base = f"role-{base}"[:56].strip("-")
    taken = set(
        await db.scalars(
            select(Role.key).where(Role.key.startswith(base), or_(Role.org_id.is_(None), Role.org_id == org_id))
        )
    )
    candidates = [base] + [f"{base}-{n}" for n in range(2, 1000)]
    return next(candidate for candidate in candidates if candidate not in taken)


async def create_role(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    catalog: Catalog,
    name: str,
    key: str | None,
    description: str,
    permissions: set[str],
    actor: Actor,
) -> Role:
    """An org's own role, on a plan with custom roles. Its key (made from the name when not
    given) is unique in the org, templates included, and never changes."""
    from tenantry.plans.services import require_feature  # plans reads roles: it imports this module

    access = await authority(db, org=org, actor=actor, require=Permission.ROLES_MANAGE)
    await require_feature(db, settings, org, Feature.CUSTOM_ROLES)
    _check_permissions(catalog, permissions, access)
    if not key:
        key = await _free_role_key(db, org_id=org.id, name=name)
    taken = await db.scalar(select(Role.id).where(Role.key == key, or_(Role.org_id.is_(None), Role.org_id == org.id)))
    if taken is not None:
        raise InvalidInput.on("key", f"“{key}” is already the key of a role here. Choose another.")
    role = Role(org_id=org.id, key=key, name=name, description=description, is_builtin=False)
    db.add(role)
    await db.flush()
    await _set_role_permissions(db, role, permissions)
    record_event(
        db,
        actor=actor,
        action="role.created",
        org_id=org.id,
        target=role_target(role),
        after={"name": name, "key": key, "description": description, "permissions": sorted(permissions)},
    )
    await db.flush()
    return role


def _check_permissions(catalog: Catalog, permissions: set[str], access: EffectivePermissions) -> None:
    unknown = catalog.unknown(permissions)
    if unknown:
        raise InvalidInput.on("permissions", f"Not permissions of this deployment: {', '.join(sorted(unknown))}.")
    missing = access.lacks_any(permissions)
    if missing and not access.is_owner:
        # A role is a way of granting: its holders get what it says.
        raise NotPermitted.on(
            "permissions", f"Only owners can put permissions they don't hold into a role: {', '.join(missing)}."
        )


async def find_own_role(db: AsyncSession, *, org_id: UUID, role_id: UUID) -> Role:
    """One of the org's own roles (not a template): the ones it may edit or delete."""
    role = await find_role(db, org_id=org_id, role_id=role_id)
    if role.org_id is None:
        raise NotPermitted.on("role", "Built-in roles can't be changed; create a role of your own instead.")
    return role


async def update_role(
    db: AsyncSession,
    *,
    org: Organization,
    role: Role,
    catalog: Catalog,
    name: str,
    description: str,
    permissions: set[str],
    actor: Actor,
) -> bool:
    """Rename, describe, or change the permissions of an org's own role: its holders have the new
    permissions on their very next request."""
    access = await authority(db, org=org, actor=actor, require=Permission.ROLES_MANAGE)
    await still_exists(db, Role, role.id)
    current = await _permissions_of(db, role.id)
    # A permission the deployment no longer declares has no checkbox: it stays as it was.
    permissions = permissions | catalog.unknown(current)
    _check_permissions(catalog, permissions - current - catalog.unknown(current), access)
    before = {"name": role.name, "description": role.description, "permissions": sorted(current)}
    role.name, role.description = name, description
    added, removed = await _set_role_permissions(db, role, permissions)
    after = {"name": name, "description": description, "permissions": sorted(permissions)}
    if before == after:
        return False
    record_event(
        db,
        actor=actor,
        action="role.updated",
        org_id=org.id,
        target=role_target(role),
        before=before,
        after={**after, "added": sorted(added), "removed": sorted(removed)},
    )
    await db.flush()
    return True


async def _permissions_of(db: AsyncSession, role_id: UUID) -> set[str]:
    return set(await db.scalars(select(RolePermission.permission).where(RolePermission.role_id == role_id)))


async def role_usage(db: AsyncSession, *, org_id: UUID, role_id: UUID) -> tuple[int, int]:
    """How many of the org's members (any status) and groups hold a role directly."""
    members = await db.scalar(
        select(func.count())
        .select_from(MembershipRole)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(MembershipRole.role_id == role_id, Membership.org_id == org_id)
    )
    groups = await db.scalar(
        select(func.count())
        .select_from(GroupRole)
        .join(Group, Group.id == GroupRole.group_id)
        .where(GroupRole.role_id == role_id, Group.org_id == org_id)
    )
    return int(members or 0), int(groups or 0)


async def delete_role(db: AsyncSession, *, org: Organization, role: Role, actor: Actor) -> None:
    """Delete an org's own role; whoever held it loses it. Not the default role."""
    await authority(db, org=org, actor=actor, require=Permission.ROLES_MANAGE)
    await still_exists(db, Role, role.id)
    await db.refresh(org, ["default_role_id"])
    if org.default_role_id == role.id:
        raise InvalidInput.on(
            "role", f"“{role.name}” is the default role for new members. Choose another default first."
        )
    members, groups = await role_usage(db, org_id=org.id, role_id=role.id)
    permissions = sorted(await _permissions_of(db, role.id))
    record_event(
        db,
        actor=actor,
        action="role.deleted",
        org_id=org.id,
        target=role_target(role),
        before={"name": role.name, "key": role.key, "permissions": permissions, "members": members, "groups": groups},
    )
    await db.delete(role)
    await db.flush()


async def set_default_role(
    db: AsyncSession, *, settings: Settings, org: Organization, role: Role, actor: Actor
) -> bool:
    """The role new members get. Never Owner; never a role the actor couldn't give themselves."""
    access = await authority(db, org=org, actor=actor, require=Permission.ROLES_MANAGE)
    await still_exists(db, Role, role.id)
    if role.org_id is None and role.key == BuiltinRole.OWNER:
        raise InvalidInput.on("role", "New members can't become owners by default.")
    infos = {info.role.id: info for info in await roles_of_org(db, org_id=org.id)}
    check_may_grant(access, [infos[role.id]], field="role")
    await db.refresh(org, ["default_role_id"])
    previous = await default_role(db, org=org, deployment_default=settings.default_role)
    if previous.id == role.id:
        return False
    org.default_role_id = role.id
    record_event(
        db,
        actor=actor,
        action="org.default_role_changed",
        org_id=org.id,
        target=Target(type="organization", id=str(org.id), label=org.slug),
        before={"default_role": previous.key},
        after={"default_role": role.key},
    )
    await db.flush()
    return True


async def direct_role_ids(db: AsyncSession, *, membership_id: UUID) -> set[UUID]:
    """The roles a membership holds directly, whatever its status (kept while deactivated)."""
    return set(await db.scalars(select(MembershipRole.role_id).where(MembershipRole.membership_id == membership_id)))


async def grant_role(db: AsyncSession, *, membership: Membership, role: Role) -> None:
    """Add one role to a new membership (no rules: the caller decided, e.g. org creation)."""
    if role.org_id not in (None, membership.org_id):
        msg = f"a role of another {words().org} can't be given here"
        raise ValueError(msg)
    db.add(MembershipRole(membership_id=membership.id, role_id=role.id))


__all__ = [
    "EffectivePermissions",
    "HeldRole",
    "PermissionSource",
    "RoleInfo",
    "authority",
    "check_may_grant",
    "create_role",
    "default_role",
    "delete_role",
    "direct_role_ids",
    "effective_permissions",
    "effective_permissions_of_members",
    "find_own_role",
    "find_role",
    "grant_role",
    "holders_of",
    "lock_org",
    "may_give",
    "may_take",
    "role_choices",
    "role_sort_key",
    "role_usage",
    "roles_of_org",
    "set_default_role",
    "set_member_roles",
    "still_exists",
    "sync_role_templates",
    "template_role",
    "update_role",
]
