"""Who may do what: the resolver of effective permissions and the role templates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.access.permissions import BuiltinRole, Permission, builtin_role_templates
from tenantry.members.models import Membership, MembershipStatus


@dataclass(frozen=True)
class HeldRole:
    id: UUID
    key: str
    name: str


@dataclass(frozen=True)
class PermissionSource:
    """Why someone holds a permission, e.g. via role Admin."""

    role_name: str

    def __str__(self) -> str:
        return f"via role {self.role_name}"


@dataclass
class EffectivePermissions:
    """What a user may do in one org, each permission with the roles it comes from."""

    roles: list[HeldRole] = field(default_factory=list)
    sources: dict[str, list[PermissionSource]] = field(default_factory=dict)

    def has(self, permission: str) -> bool:
        return permission in self.sources

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(self.sources)

    @property
    def is_owner(self) -> bool:
        return any(role.key == BuiltinRole.OWNER for role in self.roles)

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]


async def effective_permissions(db: AsyncSession, *, user_id: UUID, org_id: UUID) -> EffectivePermissions:
    """The only answer to "what may this user do in this org". One SQL statement.

    Only an active membership counts: a deactivated or pending member holds nothing.
    """
    rows = await db.execute(
        select(Role.id, Role.key, Role.name, RolePermission.permission)
        .select_from(Membership)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .join(Role, Role.id == MembershipRole.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(
            Membership.org_id == org_id,
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
            # Only this org's roles and the templates, whatever a row elsewhere might say.
            or_(Role.org_id.is_(None), Role.org_id == org_id),
        )
    )
    roles: dict[UUID, HeldRole] = {}
    sources: dict[str, list[PermissionSource]] = defaultdict(list)
    for role_id, key, name, permission in rows:
        roles.setdefault(role_id, HeldRole(id=role_id, key=key, name=name))
        if permission is not None:
            sources[permission].append(PermissionSource(role_name=name))
    ordered = sorted(roles.values(), key=lambda role: role_sort_key(role.key, role.name))
    return EffectivePermissions(roles=ordered, sources=dict(sources))


_BUILTIN_ORDER = {BuiltinRole.OWNER.value: 0, BuiltinRole.ADMIN.value: 1, BuiltinRole.MEMBER.value: 2}


def role_sort_key(key: str, name: str) -> tuple[int, str]:
    """Owner, Admin, Member, then other roles by name: the order roles are listed everywhere."""
    return _BUILTIN_ORDER.get(key, 3), name.lower()


async def template_role(db: AsyncSession, key: BuiltinRole) -> Role:
    role = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == key))
    if role is None:  # pragma: no cover - sync_role_templates runs at start-up
        msg = f"Role template {key!r} is missing; run `tenantry migrate`."
        raise LookupError(msg)
    return role


async def grant_role(db: AsyncSession, *, membership: Membership, role: Role) -> None:
    if role.org_id not in (None, membership.org_id):
        msg = "a role of another organization can't be given here"
        raise ValueError(msg)
    db.add(MembershipRole(membership_id=membership.id, role_id=role.id))


async def sync_role_templates(db: AsyncSession) -> None:
    """Make the template roles in the database match the code. Safe to run on every start."""
    for template in builtin_role_templates():
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
        held = set(await db.scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id)))
        wanted = set(template.permissions)
        if held - wanted:
            await db.execute(
                delete(RolePermission).where(
                    RolePermission.role_id == role.id, RolePermission.permission.in_(held - wanted)
                )
            )
        for permission in sorted(wanted - held):
            db.add(RolePermission(role_id=role.id, permission=permission))
    await db.flush()


__all__ = [
    "EffectivePermissions",
    "HeldRole",
    "Permission",
    "PermissionSource",
    "effective_permissions",
    "grant_role",
    "role_sort_key",
    "sync_role_templates",
    "template_role",
]
