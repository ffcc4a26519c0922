"""API keys in the portal: an org's keys (/o/{slug}/settings/api-keys, api_keys:manage) and the app
keys (/staff/api-keys, staff only). A new key is shown once, on the page the create form answers
with: never in a URL, a flash cookie or a log line; only its hash is kept (api/keys.py)."""

from __future__ import annotations

import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from pydantic import BeforeValidator
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.api.keys import NewKey, create_key, keys_of, revoke_key
from tenantry.api.models import Scope
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.clock import utcnow
from tenantry.lib.forms import FormErrors, FormModel, submit_form
from tenantry.lib.words import fill
from tenantry.orgs.context import OrgContext
from tenantry.plans.catalog import Feature
from tenantry.web.guards import staff_only
from tenantry.web.responses import see_other

MANAGE = {"permission": Permission.API_KEYS_MANAGE}
# Creating needs the plan's feature; the list and revoking don't, so keys made before a downgrade
# can still be seen and switched off.
CREATE = {**MANAGE, "feature": Feature.API_KEYS}
# The page that shows a new key: no referrer to anywhere, nothing kept by the browser's cache.
SECRET_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

# One line per scope beside its checkbox; {orgs} is the deployment's word (lib/words.py).
SCOPE_TEXT = {
    Scope.READ: "List and read {orgs}, members, invitations, groups, roles and activity.",
    Scope.WRITE: "Create, change and delete: provision {orgs}, add and remove members, send invitations.",
    Scope.CHECK: "Ask whether a user holds a permission (POST /api/v1/check), the question asked on every request.",
}


def scope_texts() -> dict[str, str]:
    return {scope.value: fill(text) for scope, text in SCOPE_TEXT.items()}


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _a_date(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            msg = "Enter a date such as 2030-12-31, or leave it empty for no expiry."
            raise ValueError(msg) from None
    return value


class ApiKeyForm(FormModel):
    name: str = ""  # the verb says what a good name is
    scopes: list[str] = []
    expires_at: Annotated[datetime.date | None, BeforeValidator(_a_date), BeforeValidator(_blank_is_none)] = None


def _end_of_day(day: datetime.date | None) -> datetime.datetime | None:
    """A key "expiring on 31 March" works through that whole day, UTC."""
    if day is None:
        return None
    day = min(day, datetime.date.max - datetime.timedelta(days=1))
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)


def _values(submitted_form) -> dict:
    getall = getattr(submitted_form, "getall", None)
    ticked = [v for v in getall("scopes", []) if isinstance(v, str)] if getall else []
    name, expires = submitted_form.get("name", ""), submitted_form.get("expires_at", "")
    return {
        "name": name if isinstance(name, str) else "",
        "scopes": ticked,
        "expires_at": expires if isinstance(expires, str) else "",
    }


async def _create(
    request: Request, db: AsyncSession, settings: Settings, *, org_context: OrgContext | None, actor: Actor
) -> tuple[NewKey | None, dict, FormErrors, int]:
    org = org_context.org if org_context else None
    submitted = await submit_form(
        request,
        ApiKeyForm,
        lambda data: create_key(
            db,
            settings=settings,
            org=org,
            name=data.name,
            scopes=data.scopes,
            expires_at=_end_of_day(data.expires_at),
            actor=actor,
        ),
    )
    if submitted.ok:
        return submitted.result, {}, {}, 200
    return None, _values(submitted.form), submitted.errors, submitted.status


def _page(template: str, db_keys: list, *, values: dict | None = None, errors: FormErrors | None = None, status=200):
    return Template(
        template,
        context={
            "keys": db_keys,
            "scope_texts": scope_texts(),
            "values": values or {"name": "", "scopes": [Scope.READ.value], "expires_at": ""},
            "errors": errors or {},
            "now": utcnow(),
            "today": utcnow().date().isoformat(),
        },
        status_code=status,
    )


def _created(template: str, new: NewKey) -> Template:
    return Template(template, context={"new": new}, headers=SECRET_PAGE_HEADERS)


class OrgApiKeysController(Controller):
    path = "/settings/api-keys"
    tags = ["api keys"]

    @get("/", opt=MANAGE, name="org_api_keys")
    async def page(self, db_session: AsyncSession, org_context: OrgContext) -> Template:
        return _page("api/org_keys.html", await keys_of(db_session, org_id=org_context.org.id))

    @post("/", opt=CREATE)
    async def create(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, settings: Settings, actor: Actor
    ) -> Template:
        new, values, errors, status = await _create(request, db_session, settings, org_context=org_context, actor=actor)
        if new is not None:
            return _created("api/org_key_created.html", new)
        keys = await keys_of(db_session, org_id=org_context.org.id)
        return _page("api/org_keys.html", keys, values=values, errors=errors, status=status)

    @post("/{key_id:uuid}/revoke", opt=MANAGE)
    async def revoke(
        self, request: Request, db_session: AsyncSession, org_context: OrgContext, actor: Actor, key_id: UUID
    ) -> Redirect:
        org = org_context.org
        revoked = await revoke_key(db_session, key_id=key_id, org=org, actor=actor)
        flash(
            request,
            "The key has been revoked: requests with it are refused from now on."
            if revoked
            else "That key was revoked already.",
            category="success",
        )
        return see_other(f"/o/{org.slug}/settings/api-keys")


class StaffApiKeysController(Controller):
    """App keys: they act on every org, so only staff (or `tenantry create-api-key`) make them."""

    path = "/staff/api-keys"
    tags = ["api keys"]
    guards = [staff_only]
    response_headers = [ResponseHeader(name="X-Robots-Tag", value="noindex")]

    @get("/", name="staff_api_keys")
    async def page(self, db_session: AsyncSession) -> Template:
        return _page("api/staff_keys.html", await keys_of(db_session, org_id=None))

    @post("/")
    async def create(self, request: Request, db_session: AsyncSession, settings: Settings, actor: Actor) -> Template:
        new, values, errors, status = await _create(request, db_session, settings, org_context=None, actor=actor)
        if new is not None:
            return _created("api/staff_key_created.html", new)
        keys = await keys_of(db_session, org_id=None)
        return _page("api/staff_keys.html", keys, values=values, errors=errors, status=status)

    @post("/{key_id:uuid}/revoke")
    async def revoke(self, request: Request, db_session: AsyncSession, actor: Actor, key_id: UUID) -> Redirect:
        revoked = await revoke_key(db_session, key_id=key_id, org=None, actor=actor)
        flash(
            request,
            "The app key has been revoked: requests with it are refused from now on."
            if revoked
            else "That key was revoked already.",
            category="success",
        )
        return see_other("/staff/api-keys")
