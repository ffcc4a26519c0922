"""Organization pages: landing, my orgs, create, the org home, and its settings."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.access.services import default_role, may_give, roles_of_org, template_role
from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.invitations.services import invitation_token_in, pending_invitations_for
from tenantry.lib.forms import FormErrors, InvalidInput, form_values, parse_form, submit_form
from tenantry.lib.ratelimit import Limit, RateLimited, RateLimiter
from tenantry.lib.words import words
from tenantry.members.lifecycle import leave_org, transfer_ownership
from tenantry.members.rules import members_over_the_limit, room_left
from tenantry.members.services import count_active_members
from tenantry.orgs import lifecycle, services
from tenantry.orgs.context import OrgContext
from tenantry.orgs.logos import Logo, inspect_logo
from tenantry.orgs.schemas import (
    BrandingForm,
    ChangeSlugForm,
    CreateOrgForm,
    DeleteOrgForm,
    PoliciesForm,
    RenameOrgForm,
    TransferOwnershipForm,
)
from tenantry.orgs.settings import (
    MAX_EXPIRY_DAYS,
    MAX_RETENTION_DAYS,
    MIN_EXPIRY_DAYS,
    MIN_RETENTION_DAYS,
    OrgSettings,
    PolicyChoices,
    update_org_settings,
)
from tenantry.orgs.slugs import is_slug_available, slug_from_name, slug_problem, suggest_free_slug
from tenantry.support.web import CUSTOMERS_OWN
from tenantry.web.guards import REACHABLE_WITHOUT_ORG, START_PATH
from tenantry.web.responses import see_other

DEFAULT_ACCENT = "#4f46e5"
# The address hint as one types: generous for a person, too few to list the deployment's orgs.
SLUG_HINT_LIMIT = Limit("slug-hint:user", 600, 3600)


async def _uploaded_logo(form, field: str = "logo") -> Logo | None:
    """The logo in a multipart form, checked; None when no file was chosen."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read()  # already received in full (request_max_body_size bounds it)
    if not data:
        return None
    return inspect_logo(data, field=field)


class OrgsController(Controller):
    """Pages outside any one org."""

    tags = ["orgs"]

    @get("/", opt={"public": True}, name="home")
    async def landing(self, request: Request, db_session: AsyncSession, settings: Settings) -> Redirect:
        user: User | None = request.scope.get("user")
        if user is None:
            return see_other("/login")
        slug = await services.landing_org_slug(db_session, user=user)
        if slug:
            return see_other(f"/o/{slug}")
        if user.is_staff:  # support staff work from the console, in no org of their own
            return see_other("/staff/orgs")
        return see_other(START_PATH if settings.require_org else "/orgs/new")

    @get(START_PATH, name="org_start", opt={REACHABLE_WITHOUT_ORG: True})
    async def start_page(
        self, db_session: AsyncSession, user: User, settings: Settings, link: str | None = None
    ) -> Template | Redirect:
        """ "Create or join": where a user in no org lands when the deployment requires one. A
        pasted invitation link goes to its join page."""
        errors: dict[str, str] = {}
        if link is not None:
            token = invitation_token_in(link)
            if token:
                return see_other(f"/invite/{token}")
            errors["link"] = "This isn't an invitation link. Paste the whole link from the invitation email."
        return Template(
            "orgs/start.html",
            context={
                "errors": errors,
                "values": {"link": (link or "")[:2000]},
                "invitations": await pending_invitations_for(db_session, user=user),
                "at_limit": await room_left(db_session, settings, user_id=user.id),
            },
            status_code=422 if errors else 200,
        )

    @get("/orgs", name="orgs")
    async def my_orgs(self) -> Template:
        return Template("orgs/list.html")

    @get("/orgs/new", name="new_org", opt={REACHABLE_WITHOUT_ORG: True})
    async def new_org_page(self, db_session: AsyncSession, user: User, settings: Settings) -> Template:
        return Template(
            "orgs/new.html",
            context={
                "values": {"brand_color": DEFAULT_ACCENT},
                "errors": {},
                # Said before the form is filled in: at the limit, creating one will be refused.
                "at_limit": await room_left(db_session, settings, user_id=user.id),
            },
        )

    @get("/orgs/slug-hint", opt={REACHABLE_WITHOUT_ORG: True})
    async def slug_hint(
        self, db_session: AsyncSession, limiter: RateLimiter, user: User, name: str = "", slug: str = ""
    ) -> Template:
        """As the name or address is typed: the address the org will get, and whether it is free.
        Whether an address is taken is no secret (creating the org would say so), but it is
        counted per person, so that nobody lists the deployment's orgs through it."""
        wanted = slug.strip().lower()[:100]
        hint: dict[str, str] = {}
        if wanted or name.strip():
            try:
                await limiter.hit(SLUG_HINT_LIMIT, str(user.id))
            except RateLimited:
                hint = {"kind": "info", "text": f"The address is checked when you create the {words().org}."}
                return Template("orgs/_slug_hint.html", context={"hint": hint})
        if wanted:
            problem = slug_problem(wanted)
            if problem:
                hint = {"kind": "error", "text": problem}
            elif await is_slug_available(db_session, wanted):
                hint = {"kind": "ok", "text": f"/o/{wanted} is available."}
            else:
                free = await suggest_free_slug(db_session, wanted)
                hint = {"kind": "error", "text": f"/o/{wanted} is taken. “{free}” is free."}
        elif name.strip():
            suggested = await suggest_free_slug(db_session, slug_from_name(name[:100]))
            hint = {"kind": "info", "text": f"Your address will be /o/{suggested}"}
        return Template("orgs/_slug_hint.html", context={"hint": hint})

    @post("/orgs/new", opt={REACHABLE_WITHOUT_ORG: True})
    async def create_org(
        self, request: Request, db_session: AsyncSession, user: User, settings: Settings, actor: Actor
    ) -> Template | Redirect:
        form = await request.form()
        data, errors = parse_form(CreateOrgForm, form)
        status = 422
        try:
            logo = await _uploaded_logo(form)
        except InvalidInput as exc:
            errors = {**errors, **exc.errors}
        if data and not errors:
            try:
                org = await services.create_organization(
                    db_session,
                    creator=user,
                    name=data.name,
                    slug=data.slug,
                    brand_color=data.brand_color,
                    logo=logo,
                    actor=actor,
                    settings=settings,
                )
            except InvalidInput as exc:
                errors, status = exc.errors, exc.status
            else:
                flash(request, f"{org.name} is ready. You are its owner.", category="success")
                return see_other(f"/o/{org.slug}")
        return Template(
            "orgs/new.html",
            context={
                "values": form_values(form, "name", "slug", "brand_color"),
                "errors": errors,
                "at_limit": await room_left(db_session, settings, user_id=user.id),
            },
            status_code=status,
        )


POLICY_FIELDS = (
    "expiry_days",
    "default_role",
    "domains_choice",
    "domains",
    "session_choice",
    "session_hours",
    "members_see_each_other",
    "retention_choice",
    "audit_retention_days",
)


def _policy_values(org_settings: OrgSettings) -> dict[str, str]:
    """The policies form as saved: empty (or "inherit") wherever the org follows the default."""
    own = {
        name: setting.value
        for name, setting in (
            ("expiry_days", org_settings.invitation_expiry_days),
            ("domains", org_settings.invitation_email_domains),
            ("session_hours", org_settings.session_hours),
            ("members_see_each_other", org_settings.members_see_each_other),
            ("audit_retention_days", org_settings.audit_retention_days),
        )
        if not setting.inherited
    }
    return {
        "expiry_days": str(own.get("expiry_days", "")),
        "default_role": str(org_settings.default_role_id or ""),
        "domains_choice": ("own" if own["domains"] else "any") if "domains" in own else "inherit",
        "domains": ", ".join(own.get("domains", [])),
        "session_choice": "own" if "session_hours" in own else "inherit",
        "session_hours": str(own.get("session_hours", "")),
        "members_see_each_other": {True: "yes", False: "no"}.get(own.get("members_see_each_other"), ""),
        "retention_choice": "own" if "audit_retention_days" in own else "inherit",
        "audit_retention_days": str(own.get("audit_retention_days", "")),
    }


async def _settings_page(
    db: AsyncSession,
    ctx: OrgContext,
    *,
    settings: Settings,
    values: dict | None = None,
    errors: FormErrors | None = None,
    section: str = "",
    status: int = 422,
) -> Template:
    org = ctx.org
    org_settings = ctx.settings  # as loaded with the org; nothing changed if the form comes back
    defaults = {
        "name": org.name,
        "slug": org.slug,
        "brand_color": org.brand_color or DEFAULT_ACCENT,
        **_policy_values(org_settings),
    }
    roles = await roles_of_org(db, org_id=org.id)
    return Template(
        "orgs/settings.html",
        context={
            "values": {**defaults, **(values or {})},
            "errors": errors or {},
            "section": section,
            "policies": org_settings,
            "default_role": await default_role(db, org=org, deployment_default=settings.default_role),
            "deployment_role": await template_role(db, settings.default_role),
            "role_choices": [info.role for info in roles if not info.is_owner and may_give(ctx.permissions, info)],
            "max_session_hours": settings.session_absolute_hours,
            "expiry_range": range(MIN_EXPIRY_DAYS, MAX_EXPIRY_DAYS + 1),
            "retention_range": (MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
        },
        status_code=status if errors else 200,
    )


class OrgController(Controller):
    """/o/{slug}/...: every handler declares the permission it needs (None: any member)."""

    tags = ["orgs"]

    @get("/", opt={"permission": None}, name="org_home")
    async def org_home(self, db_session: AsyncSession, org_context: OrgContext) -> Template:
        members = await count_active_members(db_session, org_id=org_context.org.id)
        return Template("orgs/home.html", context={"member_count": members})

    @get("/settings", opt={"permission": Permission.ORG_MANAGE}, name="org_settings")
    async def settings_page(self, db_session: AsyncSession, org_context: OrgContext, settings: Settings) -> Template:
        return await _settings_page(db_session, org_context, settings=settings)

    @post("/settings/name", opt={"permission": Permission.ORG_MANAGE})
    async def rename(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, settings: Settings
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            RenameOrgForm,
            lambda data: services.rename_organization(db_session, org=org_context.org, name=data.name, actor=actor),
        )
        if not submitted.ok:
            return await _settings_page(
                db_session,
                org_context,
                settings=settings,
                values=submitted.values("name"),
                errors=submitted.errors,
                section="name",
            )
        flash(request, f"The {words().org}'s name has been saved.", category="success")
        return see_other(f"/o/{org_context.org.slug}/settings")

    @post("/settings/slug", opt={"permission": Permission.ORG_MANAGE})
    async def change_slug(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, settings: Settings
    ) -> Template | Redirect:
        old_slug = org_context.org.slug
        submitted = await submit_form(
            request,
            ChangeSlugForm,
            lambda data: services.change_slug(db_session, org=org_context.org, slug=data.slug, actor=actor),
        )
        if not submitted.ok:
            return await _settings_page(
                db_session,
                org_context,
                settings=settings,
                values=submitted.values("slug"),
                errors=submitted.errors,
                section="slug",
            )
        new_slug = org_context.org.slug
        if new_slug != old_slug:
            flash(
                request, f"The address is now /o/{new_slug}. Links to /o/{old_slug} keep working.", category="success"
            )
        return see_other(f"/o/{new_slug}/settings")

    @post("/settings/branding", opt={"permission": Permission.ORG_MANAGE})
    async def update_branding(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, settings: Settings
    ) -> Template | Redirect:
        form = await request.form()
        data, errors = parse_form(BrandingForm, form)
        try:
            logo = await _uploaded_logo(form)
        except InvalidInput as exc:
            errors = {**errors, **exc.errors}
        if not data or errors:
            return await _settings_page(
                db_session,
                org_context,
                settings=settings,
                values=form_values(form, "brand_color"),
                errors=errors,
                section="branding",
            )
        changed = await services.update_branding(
            db_session,
            org=org_context.org,
            brand_color=data.brand_color,
            logo=logo,
            remove_logo=bool(data.remove_logo),
            actor=actor,
        )
        flash(request, "Branding saved." if changed else "Nothing to change.", category="success")
        return see_other(f"/o/{org_context.org.slug}/settings")

    @post("/settings/policies", opt={"permission": Permission.ORG_MANAGE})
    async def update_policies(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, settings: Settings, actor: Actor
    ) -> Template | Redirect:
        async def save(data: PoliciesForm) -> bool:
            if data.session_choice == "own" and data.session_hours is None:
                raise InvalidInput.on("session_hours", "Enter a number of hours, or choose to inherit the default.")
            if data.retention_choice == "own" and data.audit_retention_days is None:
                raise InvalidInput.on(
                    "audit_retention_days", "Enter a number of days, or choose to inherit the default."
                )
            if data.domains_choice == "own" and not data.domains:
                raise InvalidInput.on("domains", "List at least one domain, or choose another option.")
            choices = PolicyChoices(
                invitation_expiry_days=data.expiry_days,
                default_role_id=data.default_role,
                invitation_email_domains={"inherit": None, "any": [], "own": data.domains}[data.domains_choice],
                session_hours=data.session_hours if data.session_choice == "own" else None,
                members_see_each_other={"": None, "yes": True, "no": False}[data.members_see_each_other],
                audit_retention_days=data.audit_retention_days if data.retention_choice == "own" else None,
            )
            return await update_org_settings(
                db_session, settings=settings, org=org_context.org, choices=choices, actor=actor
            )

        submitted = await submit_form(request, PoliciesForm, save)
        if not submitted.ok:
            return await _settings_page(
                db_session,
                org_context,
                settings=settings,
                values=submitted.values(*POLICY_FIELDS),
                errors=submitted.errors,
                section="policies",
                status=submitted.status,
            )
        flash(request, "Policies saved." if submitted.result else "Nothing to change.", category="success")
        return see_other(f"/o/{org_context.org.slug}/settings#policies")

    @get("/settings/transfer", opt={"permission": Permission.ORG_DELETE}, name="org_transfer")
    async def transfer_page(self) -> Template:
        return Template("orgs/transfer.html", context={"values": {}, "errors": {}})

    @post("/settings/transfer", opt={"permission": Permission.ORG_DELETE, CUSTOMERS_OWN: True})
    async def transfer(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor
    ) -> Template | Redirect:
        org = org_context.org
        submitted = await submit_form(
            request,
            TransferOwnershipForm,
            lambda data: transfer_ownership(db_session, org=org, email=data.email, actor=actor),
        )
        if not submitted.ok:
            return Template(
                "orgs/transfer.html",
                context={"values": submitted.values("email"), "errors": submitted.errors},
                status_code=submitted.status,
            )
        flash(request, f"{submitted.result.name} now owns {org.name}. You are an admin.", category="success")
        return see_other(f"/o/{org.slug}")

    @get("/leave", opt={"permission": None}, name="org_leave")
    async def leave_page(self) -> Template:
        return Template("orgs/leave.html", context={"errors": {}})

    @post("/leave", opt={"permission": None, CUSTOMERS_OWN: True})
    async def leave(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        user: User,
        settings: Settings,
        actor: Actor,
    ) -> Template | Redirect:
        org = org_context.org
        try:
            await leave_org(db_session, org=org, user=user, actor=actor, settings=settings)
        except InvalidInput as exc:
            return Template("orgs/leave.html", context={"errors": exc.errors}, status_code=exc.status)
        flash(request, f"You left {org.name}.", category="success")
        return see_other("/")

    @get("/settings/delete", opt={"permission": Permission.ORG_DELETE}, name="org_delete")
    async def delete_page(self, db_session: AsyncSession, org_context: OrgContext, settings: Settings) -> Template:
        members = await count_active_members(db_session, org_id=org_context.org.id)
        return Template(
            "orgs/delete.html",
            context={"errors": {}, "member_count": members, "restore_days": settings.org_restore_days},
        )

    @post("/settings/delete", opt={"permission": Permission.ORG_DELETE, CUSTOMERS_OWN: True})
    async def delete(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, settings: Settings
    ) -> Template | Redirect:
        name = org_context.org.name
        days = settings.org_restore_days
        submitted = await submit_form(
            request,
            DeleteOrgForm,
            lambda data: services.delete_organization(
                db_session, org=org_context.org, confirmation=data.confirm, restore_days=days, actor=actor
            ),
        )
        if submitted.ok:
            flash(
                request,
                f"{name} has been deleted. Support can restore it within {days} day{'s' if days != 1 else ''}.",
                category="success",
            )
            return see_other("/")
        members = await count_active_members(db_session, org_id=org_context.org.id)
        return Template(
            "orgs/delete.html",
            context={"errors": submitted.errors, "member_count": members, "restore_days": days},
            status_code=422,
        )


class DeletedOrgsController(Controller):
    """Deleted orgs, for the vendor's support staff: when, by whom, how long until the purge, and
    a way back. Anyone else: 404, as if nothing were here."""

    path = "/staff/orgs"
    tags = ["orgs"]
    response_headers = [ResponseHeader(name="X-Robots-Tag", value="noindex")]

    @get("/deleted", name="staff_deleted_orgs")
    async def deleted_orgs(
        self, db_session: AsyncSession, user: User, settings: Settings, cursor: str | None = None
    ) -> Template:
        if not user.is_staff:
            raise NotFoundException
        return await _deleted_orgs_page(db_session, settings, cursor=cursor)

    @post("/{org_id:uuid}/restore")
    async def restore(
        self, request: Request, db_session: AsyncSession, user: User, actor: Actor, settings: Settings, org_id: UUID
    ) -> Template | Redirect:
        if not user.is_staff:
            raise NotFoundException
        try:
            org = await lifecycle.restore_organization(
                db_session, org_id=org_id, restore_days=settings.org_restore_days, actor=actor
            )
        except InvalidInput as exc:
            return await _deleted_orgs_page(db_session, settings, errors=exc.errors, status=exc.status)
        flash(request, f"{org.name} is restored: its members are back in /o/{org.slug}.", category="success")
        over = await members_over_the_limit(db_session, settings, org_id=org.id)
        if over:
            shown = ", ".join(over[:10]) + (f" and {len(over) - 10} more" if len(over) > 10 else "")
            flash(
                request,
                f"{shown} now belong{'s' if len(over) == 1 else ''} to more {words().orgs} than the limit of "
                f"{settings.max_orgs_per_user} (they joined others meanwhile); they can leave one.",
                category="info",
            )
        return see_other("/staff/orgs/deleted")


async def _deleted_orgs_page(
    db: AsyncSession,
    settings: Settings,
    *,
    cursor: str | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    page = await lifecycle.deleted_orgs_page(db, restore_days=settings.org_restore_days, cursor=cursor)
    return Template(
        "orgs/staff_deleted.html",
        context={"page": page, "errors": errors or {}, "restore_days": settings.org_restore_days},
        status_code=status,
    )
