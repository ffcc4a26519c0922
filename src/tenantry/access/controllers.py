"""Roles (list, define, edit, delete, default) and permissions (who holds what, and why)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import Catalog
from tenantry.access.permissions import Permission
from tenantry.access.schemas import DefaultRoleForm, RoleForm
from tenantry.access.services import (
    create_role,
    default_role,
    delete_role,
    effective_permissions_of_members,
    find_own_role,
    find_role,
    holders_of,
    may_give,
    role_usage,
    roles_of_org,
    set_default_role,
    update_role,
)
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import FormErrors, InvalidInput, clean_query_text, submit_form
from tenantry.members.services import list_members
from tenantry.orgs.context import OrgContext
from tenantry.plans.catalog import Feature
from tenantry.web.responses import see_other

READ = {"permission": Permission.MEMBERS_READ}
MANAGE = {"permission": Permission.ROLES_MANAGE}


def _role_form_page(
    *, catalog: Catalog, org_context: OrgContext, values: dict, errors: FormErrors, role=None, status: int = 200
) -> Template:
    return Template(
        "access/role_form.html",
        context={
            "catalog": catalog,
            "values": values,
            "errors": errors,
            "role": role,
            "held": org_context.permissions.permissions,
            "is_owner": org_context.permissions.is_owner,
        },
        status_code=status,
    )


async def _role_page(
    db: AsyncSession,
    org_context: OrgContext,
    catalog: Catalog,
    role,
    *,
    settings: Settings,
    values: dict | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    org = org_context.org
    info = next(i for i in await roles_of_org(db, org_id=org.id, with_counts=True) if i.role.id == role.id)
    return Template(
        "access/role.html",
        context={
            "info": info,
            "catalog": catalog,
            "default": await default_role(db, org=org, deployment_default=settings.default_role),
            "values": values
            or {"name": role.name, "description": role.description, "permissions": sorted(info.permissions)},
            "errors": errors or {},
            "held": org_context.permissions.permissions,
            "is_owner": org_context.permissions.is_owner,
        },
        status_code=status,
    )


class RolesController(Controller):
    path = "/roles"
    tags = ["access"]

    @get("/", opt=READ, name="org_roles")
    async def roles_page(self, db_session: AsyncSession, org_context: OrgContext, settings: Settings) -> Template:
        org = org_context.org
        roles = await roles_of_org(db_session, org_id=org.id, with_counts=True)
        default = await default_role(db_session, org=org, deployment_default=settings.default_role)
        offered = [info for info in roles if not info.is_owner and may_give(org_context.permissions, info)]
        return Template("access/roles.html", context={"roles": roles, "default": default, "offered": offered})

    @get("/new", opt={**MANAGE, "feature": Feature.CUSTOM_ROLES}, name="org_role_new")
    async def new_role_page(self, catalog: Catalog, org_context: OrgContext) -> Template:
        return _role_form_page(catalog=catalog, org_context=org_context, values={"permissions": []}, errors={})

    @post("/new", opt={**MANAGE, "feature": Feature.CUSTOM_ROLES})
    async def create(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        settings: Settings,
        actor: Actor,
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            RoleForm,
            lambda data: create_role(
                db_session,
                settings=settings,
                org=org_context.org,
                catalog=catalog,
                name=data.name,
                key=data.key or None,  # blank: made from the name
                description=data.description,
                permissions=set(data.permissions),
                actor=actor,
            ),
        )
        if submitted.ok:
            flash(request, f"The role “{submitted.result.name}” has been created.", category="success")
            return see_other(f"/o/{org_context.org.slug}/roles/{submitted.result.id}")
        values = {**submitted.values("name", "key", "description"), "permissions": _ticked(submitted.form)}
        return _role_form_page(
            catalog=catalog, org_context=org_context, values=values, errors=submitted.errors, status=submitted.status
        )

    @post("/default", opt=MANAGE)
    async def choose_default(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, settings: Settings
    ) -> Redirect:
        async def choose(data: DefaultRoleForm) -> bool:
            role = await find_role(db_session, org_id=org_context.org.id, role_id=data.role_id)
            return await set_default_role(db_session, settings=settings, org=org_context.org, role=role, actor=actor)

        submitted = await submit_form(request, DefaultRoleForm, choose)
        if submitted.ok:
            flash(
                request,
                "New members will get this role." if submitted.result else "Nothing to change.",
                category="success",
            )
        else:
            flash(request, " ".join(submitted.errors.values()), category="error")
        return see_other(f"/o/{org_context.org.slug}/roles")

    @get("/{role_id:uuid}", opt=READ, name="org_role")
    async def role_page(
        self, db_session: AsyncSession, org_context: OrgContext, catalog: Catalog, settings: Settings, role_id: UUID
    ) -> Template:
        role = await find_role(db_session, org_id=org_context.org.id, role_id=role_id)
        return await _role_page(db_session, org_context, catalog, role, settings=settings)

    @post("/{role_id:uuid}", opt=MANAGE)
    async def update(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        actor: Actor,
        settings: Settings,
        role_id: UUID,
    ) -> Template | Redirect:
        org = org_context.org
        role = await find_own_role(db_session, org_id=org.id, role_id=role_id)
        submitted = await submit_form(
            request,
            RoleForm,
            lambda data: update_role(
                db_session,
                org=org,
                role=role,
                catalog=catalog,
                name=data.name,
                description=data.description,
                permissions=set(data.permissions),
                actor=actor,
            ),
        )
        if submitted.ok:
            flash(
                request,
                "The role has been saved. Its holders have the new permissions now."
                if submitted.result
                else "Nothing to change.",
                category="success",
            )
            return see_other(f"/o/{org.slug}/roles/{role.id}")
        await db_session.refresh(role)
        values = {**submitted.values("name", "description"), "permissions": _ticked(submitted.form)}
        return await _role_page(
            db_session,
            org_context,
            catalog,
            role,
            settings=settings,
            values=values,
            errors=submitted.errors,
            status=submitted.status,
        )

    @get("/{role_id:uuid}/delete", opt=MANAGE, name="org_role_delete")
    async def delete_page(self, db_session: AsyncSession, org_context: OrgContext, role_id: UUID) -> Template:
        role = await find_own_role(db_session, org_id=org_context.org.id, role_id=role_id)
        members, groups = await role_usage(db_session, org_id=org_context.org.id, role_id=role.id)
        return Template(
            "access/role_delete.html", context={"role": role, "members": members, "groups": groups, "errors": {}}
        )

    @post("/{role_id:uuid}/delete", opt=MANAGE)
    async def delete(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, role_id: UUID
    ) -> Template | Redirect:
        org = org_context.org
        role = await find_own_role(db_session, org_id=org.id, role_id=role_id)
        name = role.name
        try:
            await delete_role(db_session, org=org, role=role, actor=actor)
        except InvalidInput as exc:  # it is the default role
            members, groups = await role_usage(db_session, org_id=org.id, role_id=role.id)
            return Template(
                "access/role_delete.html",
                context={"role": role, "members": members, "groups": groups, "errors": exc.errors},
                status_code=exc.status,
            )
        flash(request, f"The role “{name}” has been deleted.", category="success")
        return see_other(f"/o/{org.slug}/roles")


def _ticked(form) -> list[str]:
    getall = getattr(form, "getall", None)
    return [value for value in (getall("permissions", []) if getall else []) if isinstance(value, str)]


class PermissionsController(Controller):
    path = "/permissions"
    tags = ["access"]

    @get("/", opt=READ, name="org_permissions")
    async def permissions_page(self, db_session: AsyncSession, org_context: OrgContext, catalog: Catalog) -> Template:
        roles = await roles_of_org(db_session, org_id=org_context.org.id)
        return Template("access/permissions.html", context={"catalog": catalog, "roles": roles})

    @get("/{key:str}", opt=READ, name="org_permission")
    async def permission_page(
        self,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        key: str,
        q: str = "",
        cursor: str | None = None,
    ) -> Template:
        """Who holds a permission, and through what: directly, or via a group's role."""
        if key not in catalog:
            raise NotFound
        org_id = org_context.org.id
        page = await list_members(db_session, org_id=org_id, search=q, cursor=cursor, only_ids=holders_of(org_id, key))
        access = await effective_permissions_of_members(
            db_session, org_id=org_id, membership_ids=[m.membership_id for m in page.items]
        )
        sources = {member_id: found.sources.get(key, []) for member_id, found in access.items()}
        roles = [info for info in await roles_of_org(db_session, org_id=org_id) if key in info.permissions]
        return Template(
            "access/permission.html",
            context={
                "permission": catalog.permissions[key],
                "page": page,
                "sources": sources,
                "roles": roles,
                "q": clean_query_text(q),
            },
        )
