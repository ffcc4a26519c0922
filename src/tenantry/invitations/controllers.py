"""Inviting people (an org's invitations page) and the join link they receive."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.access.services import default_role, role_choices, roles_of_org
from tenantry.accounts.controllers import PASSWORD_HINT, session_cookie
from tenantry.accounts.models import User
from tenantry.accounts.passwords import Passwords
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.groups.services import groups_of_org
from tenantry.invitations import services
from tenantry.invitations.schemas import InviteForm, JoinWithNewAccountForm
from tenantry.lib.clock import utcnow
from tenantry.lib.forms import FormErrors, InvalidInput, parse_form, ticked_ids
from tenantry.lib.ratelimit import RateLimiter
from tenantry.lib.words import fill
from tenantry.orgs.context import OrgContext
from tenantry.plans.services import seats_in_use
from tenantry.web.guards import REACHABLE_WITHOUT_ORG
from tenantry.web.responses import see_other

INVITE = {"permission": Permission.MEMBERS_INVITE}
NO_REFERRER = [ResponseHeader(name="Referrer-Policy", value="no-referrer")]
MAX_CSV_BYTES = 512 * 1024
PROBLEMS = {
    services.InvitationProblem.UNKNOWN: (
        "This invitation link isn't valid",
        "Check that you copied all of it. If you were sent a newer invitation, use the link in that one.",
    ),
    services.InvitationProblem.EXPIRED: (
        "This invitation has expired",
        "Ask whoever invited you to send it again.",
    ),
    services.InvitationProblem.REVOKED: (
        "This invitation was withdrawn",
        "It can't be used any more. Ask whoever invited you if you think that's a mistake.",
    ),
    services.InvitationProblem.USED: (
        "This invitation has already been used",
        "Each invitation link works once. If it was you, sign in to find the {org}.",
    ),
    services.InvitationProblem.ORG_DELETED: (
        "This {org} was deleted",
        "The {org} you were invited to no longer exists, so this invitation can't be used. "
        "Ask whoever invited you if you think that's a mistake.",
    ),
}


async def _invitations_page(
    db: AsyncSession,
    org_context: OrgContext,
    *,
    cursor: str | None = None,
    values: dict | None = None,
    errors: FormErrors | None = None,
    outcome: services.InviteOutcome | None = None,
    status: int = 200,
) -> Template:
    org = org_context.org
    roles = await roles_of_org(db, org_id=org.id)
    ticked = (
        set(values.get("role", []))
        if values
        else {(await default_role(db, org=org, deployment_default=org_context.settings.deployment_default_role)).id}
    )
    return Template(
        "invitations/list.html",
        context={
            "pending": await services.list_pending(db, org_id=org.id, cursor=cursor),
            "pending_count": await services.pending_count(db, org_id=org.id),
            "seats_used": await seats_in_use(db, org_id=org.id)
            if org_context.entitlements.seat_limit is not None
            else None,
            "now": utcnow(),
            "choices": role_choices(org_context.permissions, roles, ticked, afresh=True),
            "groups": await groups_of_org(db, org_id=org.id),
            "values": values or {"expiry_days": org_context.settings.invitation_expiry_days.value, "group": []},
            "errors": errors or {},
            "outcome": outcome,
        },
        status_code=status,
    )


class InvitationsController(Controller):
    path = "/invitations"
    tags = ["invitations"]

    @get("/", opt=INVITE, name="org_invitations")
    async def invitations_page(
        self, db_session: AsyncSession, org_context: OrgContext, cursor: str | None = None
    ) -> Template:
        return await _invitations_page(db_session, org_context, cursor=cursor)

    @post("/", opt=INVITE)
    async def invite(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        limiter: RateLimiter,
        settings: Settings,
        actor: Actor,
    ) -> Template:
        form = await request.form()
        data, errors = parse_form(InviteForm, form)
        csv_text, csv_error = await _csv_upload(form)
        if csv_error:
            errors["csv"] = csv_error
        values = {
            "emails": form.get("emails") if isinstance(form.get("emails"), str) else "",
            "role": ticked_ids(form, "role"),
            "group": ticked_ids(form, "group"),
            "expiry_days": form.get("expiry_days") if isinstance(form.get("expiry_days"), str) else "",
            "message": form.get("message") if isinstance(form.get("message"), str) else "",
        }
        if data and not errors:
            try:
                addresses = services.read_addresses(data.emails, csv_text)
                outcome = await services.invite_people(
                    db_session,
                    limiter=limiter,
                    settings=settings,
                    org=org_context.org,
                    addresses=addresses,
                    role_ids=set(data.role),
                    group_ids=set(data.group),
                    expiry_days=data.expiry_days,
                    message=data.message,
                    actor=actor,
                )
            except InvalidInput as exc:
                return await _invitations_page(
                    db_session, org_context, values=values, errors=exc.errors, status=exc.status
                )
            # Keep only what still needs attention in the box: the addresses that couldn't be used.
            values = {**values, "emails": "\n".join(raw for raw, _ in outcome.invalid)}
            return await _invitations_page(db_session, org_context, values=values, outcome=outcome)
        return await _invitations_page(db_session, org_context, values=values, errors=errors, status=422)

    @post("/{invitation_id:uuid}/resend", opt=INVITE)
    async def resend(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        settings: Settings,
        actor: Actor,
        invitation_id: UUID,
    ) -> Redirect:
        invitation = await services.find_invitation(db_session, org_id=org_context.org.id, invitation_id=invitation_id)
        try:
            await services.resend_invitation(
                db_session, settings=settings, org=org_context.org, invitation=invitation, actor=actor
            )
        except InvalidInput as exc:
            flash(request, " ".join(exc.errors.values()), category="error")
        else:
            flash(
                request,
                f"A new invitation is on its way to {invitation.email}; the earlier link no longer works.",
                category="success",
            )
        return see_other(f"/o/{org_context.org.slug}/invitations")

    @post("/{invitation_id:uuid}/revoke", opt=INVITE)
    async def revoke(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, invitation_id: UUID
    ) -> Redirect:
        invitation = await services.find_invitation(db_session, org_id=org_context.org.id, invitation_id=invitation_id)
        revoked = await services.revoke_invitation(db_session, org=org_context.org, invitation=invitation, actor=actor)
        flash(
            request,
            f"The invitation to {invitation.email} was withdrawn; its link no longer works."
            if revoked
            else f"The invitation to {invitation.email} was no longer open.",
            category="success" if revoked else "info",
        )
        return see_other(f"/o/{org_context.org.slug}/invitations")


async def _csv_upload(form) -> tuple[str, str | None]:
    upload = form.get("csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "", None
    data = await upload.read()
    if len(data) > MAX_CSV_BYTES:
        return "", "This file is larger than 512 KB; a list of 1,000 addresses is far smaller."
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", "This file isn't a CSV in UTF-8. Export it again as “CSV UTF-8”."


class JoinController(Controller):
    """/invite/<token>: the page an invitee lands on, whoever they are."""

    path = "/invite/{token:str}"
    tags = ["invitations"]

    @get("/", opt={"public": True}, response_headers=NO_REFERRER, name="join")
    async def join_page(self, request: Request, db_session: AsyncSession, token: str) -> Template:
        return await _join_page(request, db_session, token)

    @post("/accept", response_headers=NO_REFERRER, opt={REACHABLE_WITHOUT_ORG: True})
    async def accept(
        self, request: Request, db_session: AsyncSession, settings: Settings, user: User, actor: Actor, token: str
    ) -> Template | Redirect:
        try:
            org = await services.accept_invitation(db_session, settings=settings, token=token, user=user, actor=actor)
        except services.BadInvitation as exc:
            return _problem_page(exc.problem)
        except InvalidInput as exc:
            return await _join_page(request, db_session, token, errors=exc.errors, status=exc.status)
        flash(request, f"Welcome to {org.name}!", category="success")
        return see_other(f"/o/{org.slug}")

    @post("/signup", opt={"public": True}, response_headers=NO_REFERRER)
    async def signup(
        self,
        request: Request,
        db_session: AsyncSession,
        limiter: RateLimiter,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
        token: str,
    ) -> Template | Redirect:
        form = await request.form()
        data, errors = parse_form(JoinWithNewAccountForm, form)
        if data:
            try:
                signed_in, org = await services.accept_with_new_account(
                    db_session,
                    limiter=limiter,
                    passwords=passwords,
                    settings=settings,
                    token=token,
                    name=data.name,
                    password=data.password,
                    actor=actor,
                )
            except services.BadInvitation as exc:
                return _problem_page(exc.problem)
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"Welcome to {org.name}, {signed_in.user.name}!", category="success")
                return see_other(f"/o/{org.slug}", cookies=[session_cookie(signed_in.session, settings)])
        name = form.get("name")
        return await _join_page(
            request,
            db_session,
            token,
            errors=errors,
            values={"name": name if isinstance(name, str) else ""},
            status=422,
        )


def _problem_page(problem: services.InvitationProblem) -> Template:
    title, detail = (fill(text) for text in PROBLEMS[problem])
    # Unknown: 404. Expired, withdrawn or used: it existed and is gone for good, 410.
    status = 404 if problem == services.InvitationProblem.UNKNOWN else 410
    return Template("invitations/problem.html", context={"title": title, "detail": detail}, status_code=status)


async def _join_page(
    request: Request,
    db: AsyncSession,
    token: str,
    *,
    errors: FormErrors | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Template:
    user: User | None = request.scope.get("user")
    try:
        opened = (
            await services.open_invitation_or_mine(db, token, user)
            if user
            else await services.open_invitation(db, token)
        )
    except services.BadInvitation as exc:
        return _problem_page(exc.problem)
    if user and opened.invitation.accepted_by_id == user.id:
        return Template(
            "invitations/problem.html",
            context={
                "title": f"You're already in {opened.org.name}",
                "detail": "You accepted this invitation.",
                "org": opened.org,
            },
            status_code=200,
        )
    return Template(
        "invitations/join.html",
        context={
            "opened": opened,
            "token": token,
            "signed_in_as": user,
            "errors": errors or {},
            "values": values or {},
            "hint": PASSWORD_HINT,
            "themed_org": opened.org,
        },
        status_code=status,
    )
