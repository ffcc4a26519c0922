"""The permission catalog and an org's roles, over the API: the portal's verbs (access/services.py),
with the key as the actor. The key's scope and org reach are the gate; the verbs keep their rules
(plan feature custom_roles, built-in roles unchangeable, the default role undeletable)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import Catalog
from tenantry.access.models import RolePermission
from tenantry.access.services import (
    RoleInfo,
    create_role,
    delete_role,
    find_own_role,
    roles_of_org,
    update_role,
)
from tenantry.api.auth import READ, WRITE, ApiCaller
from tenantry.api.checks import org_in_reach
from tenantry.api.schemas_access import PermissionList, PermissionOut, RoleCreate, RoleList, RoleOut, RoleUpdate
from tenantry.config import Settings
from tenantry.lib.errors import NotFound


def role_out(info: RoleInfo) -> RoleOut:
    role = info.role
    return RoleOut(
        id=role.id,
        key=role.key,
        name=role.name,
        description=role.description,
        permissions=sorted(info.permissions),
        built_in=info.is_template,
        member_count=info.member_count,
        group_count=info.group_count,
    )


async def _role_out(db: AsyncSession, *, org_id: UUID, role_id: UUID) -> RoleOut:
    for info in await roles_of_org(db, org_id=org_id, with_counts=True):
        if info.role.id == role_id:
            return role_out(info)
    raise NotFound


class PermissionsController(Controller):
    path = "/permissions"
    tags = ["roles"]

    @get("/", opt=READ, summary="The permission catalog")
    async def list_permissions(self, catalog: Catalog) -> PermissionList:
        """Every permission a role may hold: Tenantry's own (`built_in`), then your product's, as
        this deployment declares them (TENANTRY_PERMISSIONS_FILE). The same in every org."""
        return PermissionList(
            items=[
                PermissionOut(key=info.key, description=info.description, heading=info.heading, built_in=info.is_portal)
                for info in catalog.permissions.values()
            ]
        )


class RolesController(Controller):
    path = "/orgs/{org:str}/roles"
    tags = ["roles"]

    @get("/", opt=READ, summary="An org's roles")
    async def list_roles(self, db_session: AsyncSession, api: ApiCaller, org: str) -> RoleList:
        """The templates every org has and the org's own roles, each with its permissions, in the
        portal's order. Not paginated: an org has few roles, and they all come in one page."""
        found = await org_in_reach(db_session, api, org)
        return RoleList(
            items=[role_out(info) for info in await roles_of_org(db_session, org_id=found.id, with_counts=True)]
        )

    @post("/", opt=WRITE, summary="Create a role of the org's own")
    async def create(
        self,
        db_session: AsyncSession,
        settings: Settings,
        catalog: Catalog,
        api: ApiCaller,
        org: str,
        data: RoleCreate,
    ) -> RoleOut:
        """On a plan with custom roles only (otherwise 403). The key, made from the name when left
        out, is unique in the org and never changes. Unknown permissions: 422."""
        found = await org_in_reach(db_session, api, org)
        role = await create_role(
            db_session,
            settings=settings,
            org=found,
            catalog=catalog,
            name=data.name,
            key=data.key or None,
            description=data.description,
            permissions=set(data.permissions),
            actor=api.actor,
        )
        return await _role_out(db_session, org_id=found.id, role_id=role.id)

    @get("/{role_id:uuid}", opt=READ, summary="One role")
    async def get_role(self, db_session: AsyncSession, api: ApiCaller, org: str, role_id: UUID) -> RoleOut:
        found = await org_in_reach(db_session, api, org)
        return await _role_out(db_session, org_id=found.id, role_id=role_id)

    @patch("/{role_id:uuid}", opt=WRITE, summary="Change a role of the org's own")
    async def update(
        self, db_session: AsyncSession, catalog: Catalog, api: ApiCaller, org: str, role_id: UUID, data: RoleUpdate
    ) -> RoleOut:
        """Only the fields sent change; `permissions` is the whole new set. Its holders have the
        new permissions on their very next request. A built-in role: 403."""
        found = await org_in_reach(db_session, api, org)
        role = await find_own_role(db_session, org_id=found.id, role_id=role_id)
        if data.permissions is not None:
            permissions = set(data.permissions)
        else:
            permissions = set(
                await db_session.scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id))
            )
        await update_role(
            db_session,
            org=found,
            role=role,
            catalog=catalog,
            name=data.name if data.name is not None else role.name,
            description=data.description if data.description is not None else role.description,
            permissions=permissions,
            actor=api.actor,
        )
        return await _role_out(db_session, org_id=found.id, role_id=role.id)

    @delete("/{role_id:uuid}", opt=WRITE, summary="Delete a role of the org's own")
    async def remove(self, db_session: AsyncSession, api: ApiCaller, org: str, role_id: UUID) -> None:
        """Whoever held it loses it. A built-in role: 403; the org's default role for new
        members: 422 (choose another default first)."""
        found = await org_in_reach(db_session, api, org)
        role = await find_own_role(db_session, org_id=found.id, role_id=role_id)
        await delete_role(db_session, org=found, role=role, actor=api.actor)
