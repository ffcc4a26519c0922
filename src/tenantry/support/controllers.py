"""Support's pages: start and end an impersonation, ask an org's owners for access; and the org's
own "Support access" page, where owners choose the setting and answer requests."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.accounts.models import User, UserSession
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import FormErrors, InvalidInput, parse_form, submit_form
from tenantry.orgs.context import OrgContext
from tenantry.orgs.models import Organization
from tenantry.orgs.settings import load_org_settings
from tenantry.support import services
from tenantry.support.models import EndCause, RequestStatus, SupportAccess, SupportAccessRequest
from tenantry.support.schemas import AccessRequestForm, ApproveForm, StartImpersonationForm, SupportAccessForm
from tenantry.support.web import CUSTOMERS_OWN, DURING_IMPERSONATION, impersonation_of
from tenantry.web.guards import staff_only
from tenantry.web.responses import see_other

START_FIELDS = ("reason", "ticket", "minutes", "write", "write_reason", "break_glass_reason")
MINUTE_CHOICES = (15, 30, 45, 60)
NOINDEX = [ResponseHeader(name="X-Robots-Tag", value="noindex")]


def _choices(data: StartImpersonationForm) -> services.StartChoices:
    return services.StartChoices(
        reason=data.reason,
        ticket=data.ticket,
        minutes=data.minutes,
        write=data.write,
        write_reason=data.write_reason,
        break_glass_reason=data.break_glass_reason,
    )


async def _org(db: AsyncSession, org_id: UUID) -> Organization:
    org = await db.scalar(select(Organization).where(Organization.id == org_id, Organization.deleted_at.is_(None)))
    if org is None:
        raise NotFound
    return org


async def _pending_request(db: AsyncSession, *, org_id: UUID, staff_id: UUID) -> SupportAccessRequest | None:
    return await db.scalar(
        select(SupportAccessRequest).where(
            SupportAccessRequest.org_id == org_id,
            SupportAccessRequest.staff_user_id == staff_id,
            SupportAccessRequest.status == RequestStatus.PENDING,
        )
    )


async def _subject(db: AsyncSession, user_id: UUID) -> User:
    subject = await db.get(User, user_id)
    if subject is None:
        raise NotFound
    return subject


def _start_page(template: str, *, values: dict | None, errors: FormErrors | None, status: int, **context) -> Template:
    return Template(
        template,
        context={
            "values": values or {"minutes": str(services.DEFAULT_MINUTES)},
            "errors": errors or {},
            "minute_choices": MINUTE_CHOICES,
            **context,
        },
        status_code=status,
    )


async def _org_page(
    db: AsyncSession,
    settings: Settings,
    staff: User,
    org: Organization,
    *,
    values: dict | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    owners = [owner for owner in await services.owners_of(db, org_id=org.id) if not owner.is_staff]
    return _start_page(
        "support/start_org.html",
        values=values,
        errors=errors,
        status=status,
        org=org,
        owner=owners[0] if owners else None,
        policy=(await load_org_settings(db, settings=settings, org=org)).support_access,
        grant=await services.live_grant(db, org_id=org.id, staff_user_id=staff.id),
        pending=await _pending_request(db, org_id=org.id, staff_id=staff.id),
        support_admin=services.is_support_admin(staff),
        action=f"/staff/orgs/{org.id}/impersonate",
    )


async def _user_page(
    subject: User, *, values: dict | None = None, errors: FormErrors | None = None, status: int = 200
) -> Template:
    return _start_page(
        "support/start_user.html",
        values=values,
        errors=errors,
        status=status,
        subject=subject,
        action=f"/staff/users/{subject.id}/impersonate",
    )


async def _start(
    request: Request,
    db: AsyncSession,
    settings: Settings,
    session: UserSession,
    actor: Actor,
    *,
    refused_page: Callable[..., Awaitable[Template]],
    done_url: str,
    **target: UUID,
) -> Template | Redirect:
    """The start form's POST, from an org (`org_id=`) or a user (`user_id=`)."""
    submitted = await submit_form(
        request,
        StartImpersonationForm,
        lambda data: services.start_impersonation(
            db, settings=settings, session=session, choices=_choices(data), actor=actor, **target
        ),
    )
    if submitted.ok:
        return see_other(done_url)
    return await refused_page(values=submitted.values(*START_FIELDS), errors=submitted.errors, status=submitted.status)


class ImpersonationController(Controller):
    """/staff/...: start from an org or a user, and ask an org's owners for access. 404 to anyone
    else, including a staff browser already impersonating (it is the customer until it ends)."""

    path = "/staff"
    tags = ["support"]
    guards = [staff_only]
    response_headers = NOINDEX

    @get("/orgs/{org_id:uuid}/impersonate", name="staff_impersonate_org")
    async def org_page(self, db_session: AsyncSession, settings: Settings, user: User, org_id: UUID) -> Template:
        return await _org_page(db_session, settings, user, await _org(db_session, org_id))

    @post("/orgs/{org_id:uuid}/impersonate")
    async def start_from_org(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        user: User,
        user_session: UserSession,
        actor: Actor,
        org_id: UUID,
    ) -> Template | Redirect:
        org = await _org(db_session, org_id)
        return await _start(
            request,
            db_session,
            settings,
            user_session,
            actor,
            refused_page=functools.partial(_org_page, db_session, settings, user, org),
            done_url=f"/o/{org.slug}",
            org_id=org.id,
        )

    @post("/orgs/{org_id:uuid}/access-requests")
    async def request_access(
        self, request: Request, db_session: AsyncSession, settings: Settings, user: User, actor: Actor, org_id: UUID
    ) -> Template | Redirect:
        org = await _org(db_session, org_id)
        form = await request.form()
        data, errors = parse_form(AccessRequestForm, form)
        if data is not None:
            try:
                await services.request_access(
                    db_session,
                    settings=settings,
                    org_id=org.id,
                    reason=data.request_reason,
                    ticket=data.request_ticket,
                    actor=actor,
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"Request sent: the owners of {org.name} were emailed.", category="success")
                return see_other(f"/staff/orgs/{org.id}/impersonate")
        values = {key: form.get(key, "") for key in ("request_reason", "request_ticket")}
        return await _org_page(db_session, settings, user, org, values=values, errors=errors, status=422)

    @get("/users/{user_id:uuid}/impersonate", name="staff_impersonate_user")
    async def user_page(self, db_session: AsyncSession, user_id: UUID) -> Template:
        return await _user_page(await _subject(db_session, user_id))

    @post("/users/{user_id:uuid}/impersonate")
    async def start_from_user(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        user_session: UserSession,
        actor: Actor,
        user_id: UUID,
    ) -> Template | Redirect:
        subject = await _subject(db_session, user_id)
        return await _start(
            request,
            db_session,
            settings,
            user_session,
            actor,
            refused_page=functools.partial(_user_page, subject),
            done_url="/orgs",
            user_id=subject.id,
        )


@post("/staff/impersonation/end", opt={DURING_IMPERSONATION: True}, response_headers=NOINDEX)
async def end_impersonation(request: Request, db_session: AsyncSession, user: User, actor: Actor) -> Redirect:
    """The banner's End button (the one /staff route the customer's identity reaches)."""
    live = impersonation_of(request)
    if live is None:
        if not user.is_staff:
            raise NotFoundException
        flash(request, "There is no impersonation to end.", category="info")
        return see_other("/staff/orgs")
    await services.end_impersonation(
        db_session, impersonation_id=live.row.id, actor=live.as_staff(actor), cause=EndCause.ENDED
    )
    flash(request, f"You stopped viewing as {live.target.name}. You are yourself again.", category="success")
    if live.row.org_id:
        return see_other(f"/staff/orgs/{live.row.org_id}")
    return see_other(f"/staff/users/{live.target.id}")


class OrgSupportController(Controller):
    """/o/{slug}/settings/support: who outside the org may look inside it, and owners' answers."""

    path = "/settings/support"
    tags = ["support"]

    async def _page(
        self,
        db: AsyncSession,
        ctx: OrgContext,
        *,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Template:
        return Template(
            "support/org_settings.html",
            context={
                "policy": ctx.settings.support_access,
                "choices": list(SupportAccess),
                "requests": await services.requests_of_org(db, org_id=ctx.org.id),
                "approval_hours": services.APPROVAL_HOURS,
                "is_owner": ctx.permissions.is_owner,
                "errors": errors or {},
            },
            status_code=status,
        )

    @get("/", opt={"permission": Permission.ORG_MANAGE}, name="org_support")
    async def page(self, db_session: AsyncSession, org_context: OrgContext) -> Template:
        return await self._page(db_session, org_context)

    @post("/", opt={"permission": Permission.ORG_MANAGE, CUSTOMERS_OWN: True})
    async def change(
        self, request: Request, db_session: AsyncSession, settings: Settings, org_context: OrgContext, actor: Actor
    ) -> Template | Redirect:
        org = org_context.org
        submitted = await submit_form(
            request,
            SupportAccessForm,
            lambda data: services.change_support_access(
                db_session, settings=settings, org=org, policy=data.support_access or None, actor=actor
            ),
        )
        if not submitted.ok:
            return await self._page(db_session, org_context, errors=submitted.errors, status=submitted.status)
        flash(request, "Support access saved." if submitted.result else "Nothing to change.", category="success")
        return see_other(f"/o/{org.slug}/settings/support")

    @post("/requests/{request_id:uuid}/approve", opt={"permission": Permission.ORG_MANAGE, CUSTOMERS_OWN: True})
    async def approve(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        org_context: OrgContext,
        actor: Actor,
        request_id: UUID,
    ) -> Template | Redirect:
        return await self._answer(request, db_session, settings, org_context, actor, request_id, approve=True)

    @post("/requests/{request_id:uuid}/refuse", opt={"permission": Permission.ORG_MANAGE, CUSTOMERS_OWN: True})
    async def refuse(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        org_context: OrgContext,
        actor: Actor,
        request_id: UUID,
    ) -> Template | Redirect:
        return await self._answer(request, db_session, settings, org_context, actor, request_id, approve=False)

    async def _answer(
        self,
        request: Request,
        db: AsyncSession,
        settings: Settings,
        ctx: OrgContext,
        actor: Actor,
        request_id: UUID,
        *,
        approve: bool,
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            ApproveForm,
            lambda data: services.answer_request(
                db,
                settings=settings,
                org=ctx.org,
                request_id=request_id,
                approve=approve,
                hours=data.hours,
                actor=actor,
            ),
        )
        if not submitted.ok:
            return await self._page(db, ctx, errors=submitted.errors, status=submitted.status)
        answered = submitted.result
        if approve and answered and answered.access_until:
            flash(request, "Approved: support may enter until the time shown.", category="success")
        else:
            flash(request, "Refused: support can't enter on this request.", category="success")
        return see_other(f"/o/{ctx.org.slug}/settings/support")
