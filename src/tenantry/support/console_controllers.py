"""The support console's detail pages: one org (/staff/orgs/{id}) and one user (/staff/users/{id}),
with a user's two support actions. Anyone but staff gets 404, as if nothing were here."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.errors import NotPermitted
from tenantry.lib.forms import FormErrors
from tenantry.plans.catalog import feature_texts
from tenantry.support import console
from tenantry.web.guards import staff_only
from tenantry.web.responses import see_other
from tenantry.web.templating import plural

NOINDEX = [ResponseHeader(name="X-Robots-Tag", value="noindex")]


@get("/staff", name="staff_home", guards=[staff_only], response_headers=NOINDEX)
async def staff_home() -> Redirect:
    """The console starts with the org search."""
    return see_other("/staff/orgs")


class StaffOrgController(Controller):
    path = "/staff/orgs"
    tags = ["support"]
    guards = [staff_only]
    response_headers = NOINDEX

    @get("/{org_id:uuid}", name="staff_org")
    async def org_page(self, db_session: AsyncSession, settings: Settings, user: User, org_id: UUID) -> Template:
        detail = await console.org_detail(db_session, settings=settings, org_id=org_id, viewer=user)
        return Template(
            "support/staff_org.html",
            context={
                "detail": detail,
                "target_org": detail.org,
                "features": feature_texts(),
                "members_shown": console.MEMBERS_SHOWN,
                "invitations_shown": console.INVITATIONS_SHOWN,
            },
        )


async def _user_page(
    db: AsyncSession, settings: Settings, viewer: User, user_id: UUID, *, errors: FormErrors | None = None
) -> Template:
    detail = await console.user_detail(db, settings=settings, user_id=user_id, viewer=viewer)
    return Template(
        "support/staff_user.html",
        context={"detail": detail, "subject": detail.user, "errors": errors or {}, "orgs_shown": console.ORGS_SHOWN},
        status_code=403 if errors else 200,
    )


class StaffUserController(Controller):
    path = "/staff/users/{user_id:uuid}"
    tags = ["support"]
    guards = [staff_only]
    response_headers = NOINDEX

    @get("/", name="staff_user")
    async def user_page(self, db_session: AsyncSession, settings: Settings, user: User, user_id: UUID) -> Template:
        return await _user_page(db_session, settings, user, user_id)

    @post("/sessions/end")
    async def end_sessions(
        self, request: Request, db_session: AsyncSession, settings: Settings, user: User, actor: Actor, user_id: UUID
    ) -> Template | Redirect:
        try:
            subject, ended = await console.sign_out_everywhere(
                db_session, settings=settings, user_id=user_id, actor=actor
            )
        except NotPermitted as exc:
            return await _user_page(db_session, settings, user, user_id, errors=exc.errors)
        if ended:
            flash(request, f"{subject.email} is signed out everywhere ({plural(ended, 'session')} ended).", "success")
        else:
            flash(request, f"{subject.email} wasn't signed in anywhere: nothing to end.", "info")
        return see_other(f"/staff/users/{user_id}")

    @post("/verification")
    async def resend_verification(
        self, request: Request, db_session: AsyncSession, settings: Settings, actor: Actor, user_id: UUID
    ) -> Redirect:
        subject, sent = await console.resend_verification_for(
            db_session, settings=settings, user_id=user_id, actor=actor
        )
        if sent:
            flash(request, f"A new confirmation link is on its way to {subject.email}.", "success")
        else:
            flash(request, f"{subject.email} is already confirmed: nothing was sent.", "info")
        return see_other(f"/staff/users/{user_id}")
