"""Metadata pages: an org's editor (org:manage), and for staff the org and user directories and a
user's editor. Staff pages answer 404 to anyone else, as if nothing were there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.forms import FormErrors, InvalidInput, clean_query_text
from tenantry.metadata import services
from tenantry.metadata.rules import TYPES, MetadataRow, parse_search, rows_for_editor, rows_from_form
from tenantry.orgs.context import OrgContext
from tenantry.plans.services import plan_catalog
from tenantry.web.guards import staff_only
from tenantry.web.responses import see_other

ADD_ROW = "add_row"


def _editor(template: str, rows: Sequence[MetadataRow], errors: FormErrors | None = None, **context) -> Template:
    return Template(
        template,
        context={"rows": rows, "errors": errors or {}, "types": TYPES, **context},
        status_code=422 if errors else 200,
    )


def _with_blank_row(rows: list[MetadataRow]) -> list[MetadataRow]:
    return [*rows, MetadataRow(index=max((row.index for row in rows), default=-1) + 1)]


async def _save_rows(
    request: Request,
    *,
    template: str,
    context: dict,
    change: Callable[[list[MetadataRow]], Awaitable[bool]],
    done_url: str,
) -> Template | Redirect:
    """The editor's POST: one more row (no save), or save all rows at once, or show the errors."""
    form = await request.form()
    rows = rows_from_form(form)
    if form.get(ADD_ROW):  # "Add another row", without JavaScript: nothing saved yet
        return _editor(template, _with_blank_row(rows), **context)
    try:
        changed = await change(rows)
    except InvalidInput as exc:
        return _editor(template, rows or _with_blank_row([]), exc.errors, **context)
    flash(request, "Metadata saved." if changed else "Nothing to change.", category="success")
    return see_other(done_url)


class OrgMetadataController(Controller):
    path = "/settings/metadata"
    tags = ["metadata"]

    @get("/", opt={"permission": Permission.ORG_MANAGE}, name="org_metadata")
    async def page(self, org_context: OrgContext) -> Template:
        return _editor("metadata/org.html", rows_for_editor(org_context.org.meta or {}))

    @post("/", opt={"permission": Permission.ORG_MANAGE})
    async def save(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor
    ) -> Template | Redirect:
        org = org_context.org
        return await _save_rows(
            request,
            template="metadata/org.html",
            context={},
            change=lambda rows: services.change_org_metadata(db_session, org=org, rows=rows, actor=actor),
            done_url=f"/o/{org.slug}/settings/metadata",
        )


class StaffOrgsController(Controller):
    """Find an org by name, address or a metadata value."""

    path = "/staff/orgs"
    tags = ["metadata"]
    guards = [staff_only]
    response_headers = [ResponseHeader(name="X-Robots-Tag", value="noindex")]

    @get("/", name="staff_orgs")
    async def directory(
        self,
        db_session: AsyncSession,
        settings: Settings,
        q: str = "",
        meta: str = "",
        cursor: str | None = None,
    ) -> Template:
        q, meta = clean_query_text(q), clean_query_text(meta, max_length=200)
        errors: FormErrors = {}
        wanted = parse_search(meta) if meta else None
        if meta and wanted is None:
            errors["meta"] = "Write key=value, e.g. industry=food, employees=50 or trial=true."
        page = None if errors else await services.search_orgs(db_session, text=q, meta=wanted, cursor=cursor)
        query = {k: v for k, v in {"q": q, "meta": meta}.items() if v}
        return Template(
            "metadata/staff_orgs.html",
            context={
                "page": page,
                "q": q,
                "meta": meta,
                "wanted": wanted,
                "errors": errors,
                "extra": "&" + urlencode(query) if query else "",
                "plans": plan_catalog(settings),
            },
            status_code=422 if errors else 200,
        )


class StaffUsersController(Controller):
    """Find a user by email or name; edit a user's metadata."""

    path = "/staff/users"
    tags = ["metadata"]
    guards = [staff_only]
    response_headers = [ResponseHeader(name="X-Robots-Tag", value="noindex")]

    @get("/", name="staff_users")
    async def directory(self, db_session: AsyncSession, q: str = "", cursor: str | None = None) -> Template:
        q = clean_query_text(q)
        page = await services.search_users(db_session, text=q, cursor=cursor)
        return Template(
            "metadata/staff_users.html",
            context={"page": page, "q": q, "extra": "&" + urlencode({"q": q}) if q else ""},
        )

    @get("/{user_id:uuid}/metadata", name="staff_user_metadata")
    async def metadata_page(self, db_session: AsyncSession, user_id: UUID) -> Template:
        subject = await services.find_user(db_session, user_id=user_id)
        return _editor("metadata/user.html", rows_for_editor(subject.meta or {}), subject=subject)

    @post("/{user_id:uuid}/metadata")
    async def save_metadata(
        self, request: Request, db_session: AsyncSession, user_id: UUID, actor: Actor
    ) -> Template | Redirect:
        subject = await services.find_user(db_session, user_id=user_id)
        return await _save_rows(
            request,
            template="metadata/user.html",
            context={"subject": subject},
            change=lambda rows: services.change_user_metadata(db_session, user=subject, rows=rows, actor=actor),
            done_url=f"/staff/users/{subject.id}/metadata",
        )
