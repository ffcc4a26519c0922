"""The members page (search as you type, keyset pages, roles changed inline) and a member's page."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import Catalog
from tenantry.access.permissions import Permission
from tenantry.access.schemas import RoleChoiceForm
from tenantry.access.services import (
    direct_role_ids,
    effective_permissions,
    role_choices,
    roles_of_org,
    set_member_roles,
)
from tenantry.audit.services import Actor
from tenantry.groups.services import groups_of_member
from tenantry.lib.forms import clean_query_text, submit_form
from tenantry.members.services import count_active_members, find_member, list_members, member_row
from tenantry.orgs.context import OrgContext
from tenantry.web.responses import is_htmx, safe_next, see_other


class MembersController(Controller):
    path = "/members"
    tags = ["members"]

    @get("/", opt={"permission": Permission.MEMBERS_READ}, name="org_members")
    async def members_page(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        q: str = "",
        cursor: str | None = None,
    ) -> Template:
        page = await list_members(db_session, org_id=org_context.org.id, search=q, cursor=cursor)
        context = {
            "page": page,
            "q": clean_query_text(q),
            "roles": await roles_of_org(db_session, org_id=org_context.org.id),
        }
        if is_htmx(request) and request.headers.get("hx-target") == "members-results":
            return Template("members/_results.html", context=context)
        context["member_count"] = await count_active_members(db_session, org_id=org_context.org.id)
        return Template("members/list.html", context=context)

    @get("/{membership_id:uuid}", opt={"permission": Permission.MEMBERS_READ}, name="org_member")
    async def member_page(
        self, db_session: AsyncSession, org_context: OrgContext, catalog: Catalog, membership_id: UUID
    ) -> Template:
        membership, user = await find_member(db_session, org_id=org_context.org.id, membership_id=membership_id)
        return Template(
            "members/detail.html", context=await _member_context(db_session, org_context, catalog, membership, user)
        )

    @post("/{membership_id:uuid}/roles", opt={"permission": Permission.MEMBERS_MANAGE})
    async def change_roles(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        actor: Actor,
        membership_id: UUID,
    ) -> Template | Redirect:
        """From the members list (inline, htmx) or from the member's page (a plain form)."""
        org = org_context.org
        membership, user = await find_member(db_session, org_id=org.id, membership_id=membership_id)
        submitted = await submit_form(
            request,
            RoleChoiceForm,
            lambda data: set_member_roles(
                db_session,
                org=org,
                membership=membership,
                role_ids=set(data.role),
                actor=actor,
                target_label=user.email,
            ),
        )
        if is_htmx(request):
            # The row's roles cell, as it now is (or with the refusal in it; nothing changed).
            row = await member_row(db_session, org_id=org.id, membership_id=membership.id)
            return Template(
                "members/_roles_cell.html",
                context={
                    "m": row,
                    "roles": await roles_of_org(db_session, org_id=org.id),
                    "error": submitted.errors.get("roles") or next(iter(submitted.errors.values()), None),
                    "saved": submitted.ok and submitted.result,
                },
                status_code=200 if submitted.ok else 422,
            )
        if submitted.ok:
            flash(
                request,
                f"{user.name}'s roles have been saved." if submitted.result else "Nothing to change.",
                category="success",
            )
            back = safe_next(
                submitted.form.get("next") if isinstance(submitted.form.get("next"), str) else None,
                default=f"/o/{org.slug}/members/{membership.id}",
            )
            return see_other(back)
        context = await _member_context(db_session, org_context, catalog, membership, user)
        context["errors"] = submitted.errors
        return Template("members/detail.html", context=context, status_code=submitted.status)


async def _member_context(db: AsyncSession, org_context: OrgContext, catalog: Catalog, membership, user) -> dict:
    access = await effective_permissions(db, user_id=user.id, org_id=org_context.org.id)
    roles = await roles_of_org(db, org_id=org_context.org.id)
    held = await direct_role_ids(db, membership_id=membership.id)
    return {
        "membership": membership,
        "member": user,
        "access": access,
        "groups": await groups_of_member(db, membership_id=membership.id),
        "choices": role_choices(org_context.permissions, roles, held),
        "catalog": catalog,
        "errors": {},
    }
