"""The members page (search as you type, keyset pages, roles changed inline) and a member's page."""

from __future__ import annotations

import functools
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import Catalog
from tenantry.access.permissions import Permission
from tenantry.access.schemas import RoleChoiceForm
from tenantry.access.services import (
    default_role,
    direct_role_ids,
    effective_permissions,
    role_choices,
    roles_of_org,
    set_member_roles,
)
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.groups.services import groups_of_member, groups_of_org
from tenantry.invitations.schemas import NewMemberForm
from tenantry.invitations.services import create_member, pending_count
from tenantry.lib.forms import InvalidInput, clean_query_text, submit_form, ticked_ids
from tenantry.lib.ratelimit import RateLimiter
from tenantry.lib.words import words
from tenantry.members import lifecycle
from tenantry.members.rules import has_no_other_org
from tenantry.members.services import count_active_members, find_member, list_members, member_row
from tenantry.orgs.context import OrgContext
from tenantry.orgs.settings import apply_policies
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
        if org_context.permissions.has(Permission.MEMBERS_INVITE):
            context["pending_invitations"] = await pending_count(db_session, org_id=org_context.org.id)
        return Template("members/list.html", context=context)

    # Any member may open their own page; other members' pages need members:read (which an
    # org's "members see each other: no" takes away from those who don't manage members).
    @get("/{membership_id:uuid}", opt={"permission": None}, name="org_member")
    async def member_page(
        self, db_session: AsyncSession, org_context: OrgContext, catalog: Catalog, membership_id: UUID
    ) -> Template:
        if membership_id != org_context.membership.id and not org_context.can(Permission.MEMBERS_READ):
            raise PermissionDeniedException()
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

    @get("/new", opt={"permission": Permission.MEMBERS_MANAGE}, name="member_new")
    async def new_member_page(self, db_session: AsyncSession, org_context: OrgContext) -> Template:
        return await _new_member_page(db_session, org_context)

    @post("/new", opt={"permission": Permission.MEMBERS_MANAGE})
    async def create_member(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        settings: Settings,
        limiter: RateLimiter,
        actor: Actor,
    ) -> Template | Redirect:
        org = org_context.org
        submitted = await submit_form(
            request,
            NewMemberForm,
            lambda data: create_member(
                db_session,
                limiter=limiter,
                settings=settings,
                org=org,
                name=data.name,
                email=data.email,
                role_ids=set(data.role),
                group_ids=set(data.group),
                actor=actor,
            ),
        )
        if not submitted.ok:
            values = {
                **submitted.values("name", "email"),
                "role": ticked_ids(submitted.form, "role"),
                "group": ticked_ids(submitted.form, "group"),
            }
            return await _new_member_page(
                db_session, org_context, values=values, errors=submitted.errors, status=submitted.status
            )
        user, membership = submitted.result
        flash(
            request,
            f"{user.name} is a member of {org.name}. A welcome email with a link to choose a password "
            f"is on its way to {user.email}.",
            category="success",
        )
        return see_other(f"/o/{org.slug}/members/{membership.id}")

    @post("/{membership_id:uuid}/deactivate", opt={"permission": Permission.MEMBERS_MANAGE})
    async def deactivate(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        actor: Actor,
        membership_id: UUID,
    ) -> Template | Redirect:
        return await _lifecycle_step(
            request,
            db_session,
            org_context,
            catalog,
            actor,
            membership_id,
            lifecycle.deactivate_member,
            done="{name} is deactivated: they can't reach {org} any more. Their roles and groups are kept.",
            nothing="{name} was already deactivated.",
        )

    @post("/{membership_id:uuid}/reactivate", opt={"permission": Permission.MEMBERS_MANAGE})
    async def reactivate(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        settings: Settings,
        actor: Actor,
        membership_id: UUID,
    ) -> Template | Redirect:
        return await _lifecycle_step(
            request,
            db_session,
            org_context,
            catalog,
            actor,
            membership_id,
            functools.partial(lifecycle.reactivate_member, settings=settings),
            done="{name} is active again, with their roles and groups.",
            nothing="{name} was already active.",
        )

    @get("/{membership_id:uuid}/remove", opt={"permission": Permission.MEMBERS_MANAGE}, name="member_remove")
    async def remove_page(
        self, db_session: AsyncSession, org_context: OrgContext, settings: Settings, membership_id: UUID
    ) -> Template:
        membership, user = await find_member(db_session, org_id=org_context.org.id, membership_id=membership_id)
        groups = await groups_of_member(db_session, membership_id=membership.id)
        # TENANTRY_REQUIRE_ORG: say before removing that this leaves them in no org (allowed).
        orgless_after = await has_no_other_org(db_session, settings, user_id=user.id, org_id=org_context.org.id)
        return Template(
            "members/remove.html",
            context={"membership": membership, "member": user, "groups": groups, "orgless_after": orgless_after},
        )

    @post("/{membership_id:uuid}/remove", opt={"permission": Permission.MEMBERS_MANAGE})
    async def remove(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        catalog: Catalog,
        settings: Settings,
        actor: Actor,
        membership_id: UUID,
    ) -> Template | Redirect:
        org = org_context.org
        membership, user = await find_member(db_session, org_id=org.id, membership_id=membership_id)
        try:
            orgless = await lifecycle.remove_member(
                db_session, org=org, membership=membership, user=user, actor=actor, settings=settings
            )
        except InvalidInput as exc:
            return await _member_page_refusing(db_session, org_context, catalog, membership, user, exc)
        note = (
            f" {user.name} now belongs to no {words().org}: they will be asked to create or join one."
            if orgless
            else ""
        )
        flash(request, f"{user.name} was removed from {org.name}.{note}", category="success")
        return see_other(f"/o/{org.slug}/members")


async def _new_member_page(
    db: AsyncSession,
    org_context: OrgContext,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> Template:
    org = org_context.org
    values = values or {"group": []}
    ticked = set(values.get("role") or []) or {
        (await default_role(db, org=org, deployment_default=org_context.settings.deployment_default_role)).id
    }
    return Template(
        "members/new.html",
        context={
            "values": values,
            "errors": errors or {},
            "choices": role_choices(
                org_context.permissions, await roles_of_org(db, org_id=org.id), ticked, afresh=True
            ),
            "groups": await groups_of_org(db, org_id=org.id),
        },
        status_code=status,
    )


async def _lifecycle_step(
    request: Request,
    db: AsyncSession,
    org_context: OrgContext,
    catalog: Catalog,
    actor: Actor,
    membership_id: UUID,
    verb,
    *,
    done: str,
    nothing: str,
) -> Template | Redirect:
    org = org_context.org
    membership, user = await find_member(db, org_id=org.id, membership_id=membership_id)
    try:
        changed = await verb(db, org=org, membership=membership, user=user, actor=actor)
    except InvalidInput as exc:
        return await _member_page_refusing(db, org_context, catalog, membership, user, exc)
    flash(request, (done if changed else nothing).format(name=user.name, org=org.name), category="success")
    return see_other(f"/o/{org.slug}/members/{membership.id}")


async def _member_page_refusing(
    db: AsyncSession, org_context: OrgContext, catalog: Catalog, membership, user, refusal: InvalidInput
) -> Template:
    context = await _member_context(db, org_context, catalog, membership, user)
    context["lifecycle_error"] = " ".join(refusal.errors.values())
    return Template("members/detail.html", context=context, status_code=refusal.status)


async def _member_context(db: AsyncSession, org_context: OrgContext, catalog: Catalog, membership, user) -> dict:
    access = apply_policies(
        await effective_permissions(db, user_id=user.id, org_id=org_context.org.id), org_context.settings
    )
    roles = await roles_of_org(db, org_id=org_context.org.id)
    held = await direct_role_ids(db, membership_id=membership.id)
    return {
        "membership": membership,
        "member": user,
        "access": access,
        "groups": await groups_of_member(db, membership_id=membership.id),
        "choices": role_choices(org_context.permissions, roles, held),
        "may_change_roles": org_context.may_change_roles_of(
            user.id, [info.role.key for info in roles if info.role.id in held]
        ),
        "catalog": catalog,
        "errors": {},
    }
