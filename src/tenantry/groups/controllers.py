"""Groups: list, create, the group page (members, roles, details), delete."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.access.schemas import RoleChoiceForm
from tenantry.access.services import role_choices, roles_of_org
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.groups import services
from tenantry.groups.models import Group
from tenantry.groups.schemas import AddMemberForm, GroupForm
from tenantry.lib.forms import FormErrors, clean_query_text, submit_form
from tenantry.lib.words import words
from tenantry.members.services import find_member, list_members
from tenantry.orgs.context import OrgContext
from tenantry.plans.catalog import Feature
from tenantry.web.responses import is_htmx, see_other

READ = {"permission": Permission.MEMBERS_READ}
MANAGE = {"permission": Permission.GROUPS_MANAGE}


async def _group_page(
    db: AsyncSession,
    org_context: OrgContext,
    group: Group,
    *,
    q: str = "",
    cursor: str | None = None,
    values: dict | None = None,
    errors: FormErrors | None = None,
    section: str = "",
    status: int = 200,
) -> Template:
    org_id = org_context.org.id
    held = await services.group_role_ids(db, group_id=group.id)
    roles = await roles_of_org(db, org_id=org_id)
    choices = role_choices(org_context.permissions, roles, held, for_group=True)
    return Template(
        "groups/detail.html",
        context={
            "group": group,
            "page": await list_members(db, org_id=org_id, search=q, cursor=cursor, in_group=group.id),
            "q": clean_query_text(q),
            "choices": choices,
            "values": values or {"name": group.name, "description": group.description},
            "errors": errors or {},
            "section": section,
        },
        status_code=status,
    )


class GroupsController(Controller):
    path = "/groups"
    tags = ["groups"]

    @get("/", opt=READ, name="org_groups")
    async def groups_page(self, db_session: AsyncSession, org_context: OrgContext) -> Template:
        return Template(
            "groups/list.html", context={"groups": await services.groups_of_org(db_session, org_id=org_context.org.id)}
        )

    @get("/new", opt={**MANAGE, "feature": Feature.GROUPS}, name="org_group_new")
    async def new_group_page(self) -> Template:
        return Template("groups/new.html", context={"values": {}, "errors": {}})

    @post("/new", opt={**MANAGE, "feature": Feature.GROUPS})
    async def create(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, settings: Settings, actor: Actor
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            GroupForm,
            lambda data: services.create_group(
                db_session,
                settings=settings,
                org=org_context.org,
                name=data.name,
                description=data.description,
                actor=actor,
            ),
        )
        if submitted.ok:
            flash(
                request,
                f"The group “{submitted.result.name}” has been created. Add its members and roles.",
                category="success",
            )
            return see_other(f"/o/{org_context.org.slug}/groups/{submitted.result.id}")
        return Template(
            "groups/new.html",
            context={"values": submitted.values("name", "description"), "errors": submitted.errors},
            status_code=submitted.status,
        )

    @get("/{group_id:uuid}", opt=READ, name="org_group")
    async def group_page(
        self, db_session: AsyncSession, org_context: OrgContext, group_id: UUID, q: str = "", cursor: str | None = None
    ) -> Template:
        group = await services.find_group(db_session, org_id=org_context.org.id, group_id=group_id)
        return await _group_page(db_session, org_context, group, q=q, cursor=cursor)

    @post("/{group_id:uuid}", opt=MANAGE)
    async def update(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, group_id: UUID
    ) -> Template | Redirect:
        group = await services.find_group(db_session, org_id=org_context.org.id, group_id=group_id)
        submitted = await submit_form(
            request,
            GroupForm,
            lambda data: services.update_group(
                db_session, org=org_context.org, group=group, name=data.name, description=data.description, actor=actor
            ),
        )
        if submitted.ok:
            flash(
                request, "The group has been saved." if submitted.result else "Nothing to change.", category="success"
            )
            return see_other(f"/o/{org_context.org.slug}/groups/{group.id}")
        return await _group_page(
            db_session,
            org_context,
            group,
            values=submitted.values("name", "description"),
            errors=submitted.errors,
            section="details",
            status=submitted.status,
        )

    @get("/{group_id:uuid}/candidates", opt=MANAGE)
    async def candidates(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, group_id: UUID, q: str = ""
    ) -> Template:
        """Search-as-you-type for "add a member": the org's members not in the group yet. It lists
        members, so it also needs members:read (which the "members see each other" policy may
        take away)."""
        if not org_context.can(Permission.MEMBERS_READ):
            raise PermissionDeniedException()
        group = await services.find_group(db_session, org_id=org_context.org.id, group_id=group_id)
        query = clean_query_text(q)
        found = (
            await services.members_not_in_group(db_session, org_id=org_context.org.id, group_id=group.id, search=query)
            if query
            else []
        )
        context = {"group": group, "candidates": found, "q": query}
        # As you type (htmx): the matches only. Without script: a page with a search form.
        return Template("groups/_candidates.html" if is_htmx(request) else "groups/add_members.html", context=context)

    @post("/{group_id:uuid}/members", opt=MANAGE)
    async def add_member(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, group_id: UUID
    ) -> Template | Redirect:
        org = org_context.org
        group = await services.find_group(db_session, org_id=org.id, group_id=group_id)
        names: dict[str, str] = {}

        async def add(data: AddMemberForm) -> bool:
            membership, user = await find_member(db_session, org_id=org.id, membership_id=data.membership_id)
            names["member"] = user.name
            return await services.add_group_member(
                db_session,
                org=org,
                group=group,
                membership=membership,
                member_label=user.email,
                actor=actor,
            )

        submitted = await submit_form(request, AddMemberForm, add)
        if submitted.ok:
            flash(
                request,
                f"{names['member']} is now in {group.name}."
                if submitted.result
                else f"{names['member']} was already in {group.name}.",
                category="success",
            )
            return see_other(f"/o/{org.slug}/groups/{group.id}")
        return await _group_page(
            db_session, org_context, group, errors=submitted.errors, section="members", status=submitted.status
        )

    @post("/{group_id:uuid}/members/{membership_id:uuid}/remove", opt=MANAGE)
    async def remove_member(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        actor: Actor,
        group_id: UUID,
        membership_id: UUID,
    ) -> Redirect:
        org = org_context.org
        group = await services.find_group(db_session, org_id=org.id, group_id=group_id)
        membership, user = await find_member(db_session, org_id=org.id, membership_id=membership_id)
        removed = await services.remove_group_member(
            db_session, org=org, group=group, membership=membership, member_label=user.email, actor=actor
        )
        flash(
            request,
            f"{user.name} has left {group.name}." if removed else f"{user.name} wasn't in {group.name}.",
            category="success",
        )
        return see_other(f"/o/{org.slug}/groups/{group.id}")

    @post("/{group_id:uuid}/roles", opt=MANAGE)
    async def change_roles(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, group_id: UUID
    ) -> Template | Redirect:
        org = org_context.org
        group = await services.find_group(db_session, org_id=org.id, group_id=group_id)
        submitted = await submit_form(
            request,
            RoleChoiceForm,
            lambda data: services.set_group_roles(
                db_session,
                org=org,
                group=group,
                role_ids=set(data.role),
                actor=actor,
            ),
        )
        if submitted.ok:
            flash(
                request,
                f"{group.name}'s roles have been saved: its members hold them now."
                if submitted.result
                else "Nothing to change.",
                category="success",
            )
            return see_other(f"/o/{org.slug}/groups/{group.id}")
        return await _group_page(
            db_session, org_context, group, errors=submitted.errors, section="roles", status=submitted.status
        )

    @get("/{group_id:uuid}/delete", opt=MANAGE, name="org_group_delete")
    async def delete_page(self, db_session: AsyncSession, org_context: OrgContext, group_id: UUID) -> Template:
        group = await services.find_group(db_session, org_id=org_context.org.id, group_id=group_id)
        summary = next(
            s for s in await services.groups_of_org(db_session, org_id=org_context.org.id) if s.group.id == group.id
        )
        return Template("groups/delete.html", context={"summary": summary})

    @post("/{group_id:uuid}/delete", opt=MANAGE)
    async def delete(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, group_id: UUID
    ) -> Redirect:
        group = await services.find_group(db_session, org_id=org_context.org.id, group_id=group_id)
        name = group.name
        await services.delete_group(db_session, org=org_context.org, group=group, actor=actor)
        flash(
            request, f"The group “{name}” has been deleted. Its members stay in the {words().org}.", category="success"
        )
        return see_other(f"/o/{org_context.org.slug}/groups")
