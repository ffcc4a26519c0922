"""The plan page of an org (usage, features, change of plan) and support's overrides."""

from __future__ import annotations

import datetime
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.forms import FormErrors, InvalidInput, parse_form, submit_form
from tenantry.orgs.context import OrgContext
from tenantry.orgs.models import Organization
from tenantry.plans import services
from tenantry.plans.catalog import feature_texts
from tenantry.plans.models import PlanOverride
from tenantry.plans.schemas import ChangePlanForm, PlanOverrideForm, SeatLimitForm
from tenantry.web.responses import see_other


def _end_of_day(day: datetime.date | None) -> datetime.datetime | None:
    """An override "until 31 March" holds through that whole day, UTC."""
    if day is None:
        return None
    day = min(day, datetime.date.max - datetime.timedelta(days=1))  # the verb refuses such a day anyway
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)


async def _submit_plan_change(
    request: Request, db: AsyncSession, settings: Settings, org: Organization, actor: Actor, *, by_staff: bool
) -> dict | None:
    """Move the org to the posted plan and say so; or, refused, what the page shows beside the form."""
    data, errors = parse_form(ChangePlanForm, await request.form())
    try:
        if data is None:
            raise InvalidInput(errors)
        changed = await services.change_plan(
            db, settings=settings, org=org, plan_key=data.plan, actor=actor, by_staff=by_staff
        )
    except services.DowngradeBlocked as exc:
        return {"errors": exc.errors, "problems": exc.problems, "status": exc.status}
    except InvalidInput as exc:
        return {"errors": exc.errors, "status": exc.status}
    plan = services.plan_catalog(settings).get(org.plan_key)
    flash(request, f"{org.name} is now on the {plan.name} plan." if changed else "Nothing to change.", "success")
    return None


async def _plan_page(
    db: AsyncSession,
    settings: Settings,
    ctx: OrgContext,
    *,
    values: dict | None = None,
    errors: FormErrors | None = None,
    problems: list[str] | None = None,
    section: str = "",
    status: int = 200,
) -> Template:
    org = ctx.org
    return Template(
        "plans/plan.html",
        context={
            "catalog": services.plan_catalog(settings),
            "entitlements": ctx.entitlements,
            "usage": await services.usage_of(db, org_id=org.id),
            "features": feature_texts(),
            "values": {"seat_limit": "" if org.seat_limit is None else org.seat_limit, **(values or {})},
            "errors": errors or {},
            "problems": problems or [],
            "section": section,
        },
        status_code=status,
    )


class PlanController(Controller):
    """/o/{slug}/plan: what the org uses of its plan, and a change of plan."""

    path = "/plan"
    tags = ["plans"]

    @get("/", opt={"permission": Permission.PLAN_MANAGE}, name="org_plan")
    async def plan_page(self, db_session: AsyncSession, settings: Settings, org_context: OrgContext) -> Template:
        return await _plan_page(db_session, settings, org_context)

    @post("/", opt={"permission": Permission.PLAN_MANAGE})
    async def change_plan(
        self, request: Request, db_session: AsyncSession, settings: Settings, org_context: OrgContext, actor: Actor
    ) -> Template | Redirect:
        org = org_context.org
        refused = await _submit_plan_change(request, db_session, settings, org, actor, by_staff=False)
        if refused is not None:
            return await _plan_page(db_session, settings, org_context, **refused)
        return see_other(f"/o/{org.slug}/plan")

    @post("/seats", opt={"permission": Permission.PLAN_MANAGE})
    async def update_seat_limit(
        self, request: Request, db_session: AsyncSession, settings: Settings, org_context: OrgContext, actor: Actor
    ) -> Template | Redirect:
        org = org_context.org
        submitted = await submit_form(
            request,
            SeatLimitForm,
            lambda data: services.set_seat_limit(
                db_session, settings=settings, org=org, seat_limit=data.seat_limit, actor=actor
            ),
        )
        if not submitted.ok:
            return await _plan_page(
                db_session,
                settings,
                org_context,
                values=submitted.values("seat_limit"),
                errors=submitted.errors,
                section="seats",
                status=submitted.status,
            )
        message = "Your own seat limit is off: the plan's applies." if org.seat_limit is None else "Seat limit saved."
        flash(request, message if submitted.result else "Nothing to change.", category="success")
        return see_other(f"/o/{org.slug}/plan#seats")


# --- support ------------------------------------------------------------------------------------


async def _staff_org(db: AsyncSession, user: User, org_id: UUID) -> tuple[Organization, PlanOverride | None]:
    if not user.is_staff:
        raise NotFoundException
    row = (
        await db.execute(
            select(Organization, PlanOverride)
            .outerjoin(PlanOverride, PlanOverride.org_id == Organization.id)
            .where(Organization.id == org_id)
        )
    ).first()
    if row is None:
        raise NotFoundException
    return row[0], row[1]


async def _staff_plan_page(
    db: AsyncSession,
    settings: Settings,
    org: Organization,
    override: PlanOverride | None,
    *,
    values: dict | None = None,
    errors: FormErrors | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Template:
    catalog = services.plan_catalog(settings)
    if values is None:
        values = {
            "extra_seats": override.extra_seats if override else 0,
            "feature": list(override.extra_features) if override else [],
            "ends_on": override.last_day.isoformat() if override and override.ends_at else "",
            "note": override.note if override else "",
        }
    return Template(
        "plans/staff_plan.html",
        context={
            "target_org": org,
            "override": override,
            "catalog": catalog,
            "entitlements": services.entitlements_for(catalog, org, override),
            "usage": await services.usage_of(db, org_id=org.id),
            "features": feature_texts(),
            "values": values,
            "errors": errors or {},
            "problems": problems or [],
        },
        status_code=status,
    )


class StaffPlanController(Controller):
    """/staff/orgs/{id}/plan: support moves an org to a plan or grants it more. 404 for anyone else."""

    path = "/staff/orgs/{org_id:uuid}/plan"
    tags = ["plans"]

    @get("/", name="staff_org_plan")
    async def page(self, db_session: AsyncSession, settings: Settings, user: User, org_id: UUID) -> Template:
        org, override = await _staff_org(db_session, user, org_id)
        return await _staff_plan_page(db_session, settings, org, override)

    @post("/override")
    async def set_override(
        self, request: Request, db_session: AsyncSession, settings: Settings, user: User, actor: Actor, org_id: UUID
    ) -> Template | Redirect:
        org, override = await _staff_org(db_session, user, org_id)
        form = await request.form()
        data, errors = parse_form(PlanOverrideForm, form)
        if data is not None:
            try:
                changed = await services.set_plan_override(
                    db_session,
                    org=org,
                    extra_seats=data.extra_seats,
                    extra_features=set(data.feature),
                    ends_at=_end_of_day(data.ends_on),
                    note=data.note,
                    actor=actor,
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, "Override saved." if changed else "Nothing to change.", category="success")
                return see_other(f"/staff/orgs/{org.id}/plan")
        values = {key: form.get(key, "") for key in ("extra_seats", "ends_on", "note")}
        values["feature"] = form.getall("feature", [])
        return await _staff_plan_page(db_session, settings, org, override, values=values, errors=errors, status=422)

    @post("/override/remove")
    async def remove_override(
        self, request: Request, db_session: AsyncSession, user: User, actor: Actor, org_id: UUID
    ) -> Redirect:
        org, _ = await _staff_org(db_session, user, org_id)
        removed = await services.remove_plan_override(db_session, org=org, actor=actor)
        flash(request, "Override removed: the plan alone applies." if removed else "Nothing to change.", "success")
        return see_other(f"/staff/orgs/{org.id}/plan")

    @post("/")
    async def change_plan(
        self, request: Request, db_session: AsyncSession, settings: Settings, user: User, actor: Actor, org_id: UUID
    ) -> Template | Redirect:
        org, override = await _staff_org(db_session, user, org_id)
        refused = await _submit_plan_change(request, db_session, settings, org, actor, by_staff=True)
        if refused is not None:
            return await _staff_plan_page(db_session, settings, org, override, **refused)
        return see_other(f"/staff/orgs/{org.id}/plan")
