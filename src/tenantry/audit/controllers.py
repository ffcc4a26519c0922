"""The audit log as pages: an org's activity (and its export), your own account's, and staff's
search across every org."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.response import Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.accounts.models import User
from tenantry.audit import activity
from tenantry.audit.sentences import action_choices, describe
from tenantry.lib.clock import utcnow
from tenantry.orgs.context import OrgContext
from tenantry.plans.catalog import Feature
from tenantry.runtime import runtime_of
from tenantry.web.guards import REACHABLE_WITHOUT_ORG

EXPORTS = {
    "csv": ("text/csv; charset=utf-8", activity.export_csv),
    "jsonl": ("application/x-ndjson; charset=utf-8", activity.export_jsonl),
}


async def _activity_page(
    request: Request,
    db: AsyncSession,
    *,
    template: str,
    base_url: str,
    org_id: UUID | None = None,
    user_id: UUID | None = None,
    cursor: str | None = None,
    extra: dict | None = None,
    with_org_names: bool = False,
) -> Template:
    filters = activity.ActivityFilters.from_query(request.query_params)
    page = await activity.list_events(db, filters, org_id=org_id, user_id=user_id, cursor=cursor)
    org_names = await activity.org_names(db, {e.org_id for e in page.items if e.org_id}) if with_org_names else {}
    return Template(
        template,
        context={
            "page": page,
            "events": [(event, describe(event)) for event in page.items],
            "filters": filters,
            "errors": filters.errors,
            "base_url": base_url,
            "action_choices": action_choices((extra or {}).get("actions") or []),
            "query": filters.as_query(),
            "org_names": org_names,
            **(extra or {}),
        },
        status_code=422 if filters.errors else 200,
    )


class OrgActivityController(Controller):
    path = "/activity"
    tags = ["audit"]

    @get("/", opt={"permission": Permission.AUDIT_READ}, name="org_activity")
    async def activity_page(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, cursor: str | None = None
    ) -> Template:
        org = org_context.org
        return await _activity_page(
            request,
            db_session,
            template="audit/org_activity.html",
            base_url=f"/o/{org.slug}/activity",
            org_id=org.id,
            cursor=cursor,
            extra={"actions": activity.known_actions()},
        )

    @get(
        "/export",
        opt={"permission": Permission.AUDIT_READ, "feature": Feature.AUDIT_EXPORT},
        name="org_activity_export",
    )
    async def export(self, request: Request, org_context: OrgContext, format: str = "csv") -> Stream:
        """Streamed a thousand events at a time: a year of activity never sits in memory."""
        media_type, export = EXPORTS.get(format, EXPORTS["csv"])
        extension = "jsonl" if format == "jsonl" else "csv"
        filters = activity.ActivityFilters.from_query(request.query_params)
        org = org_context.org
        name = f"{org.slug}-activity-{utcnow():%Y%m%d-%H%M}.{extension}"
        sessionmaker = runtime_of(request.app).sessionmaker
        return Stream(
            export(sessionmaker, filters, org_id=org.id),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


class AccountActivityController(Controller):
    path = "/account/activity"
    tags = ["audit"]
    opt = {REACHABLE_WITHOUT_ORG: True}  # part of one's account: sign-ins and session changes

    @get("/", name="account_activity")
    async def activity_page(
        self, request: Request, db_session: AsyncSession, user: User, cursor: str | None = None
    ) -> Template:
        return await _activity_page(
            request,
            db_session,
            template="audit/account_activity.html",
            base_url="/account/activity",
            user_id=user.id,
            cursor=cursor,
        )


class StaffActivityController(Controller):
    """Every org's events, for the vendor's support staff. Anyone else: 404, as if nothing were here."""

    path = "/staff/activity"
    tags = ["audit"]
    response_headers = [ResponseHeader(name="X-Robots-Tag", value="noindex")]

    @get("/", name="staff_activity")
    async def activity_page(
        self, request: Request, db_session: AsyncSession, user: User, cursor: str | None = None
    ) -> Template:
        if not user.is_staff:
            raise NotFoundException
        return await _activity_page(
            request,
            db_session,
            template="audit/staff_activity.html",
            base_url="/staff/activity",
            cursor=cursor,
            extra={"actions": activity.known_actions()},
            with_org_names=True,
        )
