"""/api/v1/orgs: list, create, read, change and delete organizations, through the portal's verbs.

An app key reaches every org; an org key only its own (any other: 404), and may neither create
orgs nor delete its own (an owner does that in the portal) nor change its plan. Deleted orgs
are 404 like ones that never existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.auth import SCOPE_OPT, ApiCaller
from tenantry.api.checks import org_in_reach
from tenantry.api.models import Scope
from tenantry.api.schemas_orgs import CursorParam, OrgCreate, OrgList, OrgOut, OrgUpdate, PageSize
from tenantry.api.users import find_user
from tenantry.config import Settings
from tenantry.lib.errors import NotPermitted
from tenantry.lib.forms import InvalidInput, clean_query_text
from tenantry.lib.pagination import keyset_page
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.services import count_active_members
from tenantry.metadata.rules import MetadataRow, metadata_from_rows, parse_search, rows_from_mapping
from tenantry.metadata.services import change_org_metadata, metadata_matches
from tenantry.orgs import services as org_services
from tenantry.orgs.models import Organization
from tenantry.plans.services import DowngradeBlocked, change_plan, plan_catalog

ROW_FIELD = re.compile(r"^(key|type|value)-(\d+)$")


def org_out(org: Organization, *, member_count: int, settings: Settings) -> OrgOut:
    return OrgOut(
        id=org.id,
        name=org.name,
        slug=org.slug,
        created_at=org.created_at,
        plan=plan_catalog(settings).get(org.plan_key).key,
        member_count=member_count,
        brand_color=org.brand_color,
        metadata=dict(org.meta or {}),
    )


def app_key_only(api: ApiCaller, doing: str) -> None:
    if api.org_id is not None:
        raise PermissionDeniedException(detail=f"An org key acts within its own org only: {doing} needs an app key.")


@contextmanager
def metadata_fields(rows: list[MetadataRow]) -> Iterator[None]:
    """The metadata rules speak of editor rows (`value-3`); the API names the key (`metadata.tier`)."""
    try:
        yield
    except InvalidInput as exc:
        renamed: dict[str, str] = {}
        for field, message in exc.errors.items():
            match = ROW_FIELD.match(field)
            if match and int(match.group(2)) < len(rows):
                key = rows[int(match.group(2))].key
                renamed[f"metadata.{key}" if key else "metadata"] = message
            elif field == "__all__":
                renamed["metadata"] = message
            else:
                renamed[field] = message
        raise type(exc)(renamed) from None


def metadata_rows(data: Mapping[str, Any]) -> list[MetadataRow]:
    rows = rows_from_mapping(data)
    with metadata_fields(rows):
        metadata_from_rows(rows)  # refused here, before anything else changes
    return rows


async def set_metadata(db: AsyncSession, *, org: Organization, data: Mapping[str, Any], api: ApiCaller) -> None:
    rows = metadata_rows(data)
    with metadata_fields(rows):
        await change_org_metadata(db, org=org, rows=rows, actor=api.actor)


async def set_plan(db: AsyncSession, settings: Settings, *, org: Organization, plan: str, api: ApiCaller) -> None:
    catalog = plan_catalog(settings)
    if not catalog.knows(plan):
        keys = ", ".join(f"`{p.key}`" for p in catalog.plans)
        raise InvalidInput.on("plan", f"`{plan}` isn't a plan of this deployment. Its plans: {keys}.")
    try:
        await change_plan(db, settings=settings, org=org, plan_key=plan, actor=api.actor)
    except DowngradeBlocked as exc:
        raise InvalidInput.on("plan", " ".join([exc.errors["plan"], *exc.problems])) from None


def _member_count():
    return (
        select(func.count())
        .where(Membership.org_id == Organization.id, Membership.status == MembershipStatus.ACTIVE)
        .correlate(Organization)
        .scalar_subquery()
        .label("member_count")
    )


def list_statement(*, text: str, meta: tuple[str, Any] | None, only_org: UUID | None, dialect: str) -> Select:
    statement = select(Organization, _member_count()).where(Organization.deleted_at.is_(None))
    if only_org is not None:
        statement = statement.where(Organization.id == only_org)
    if text:
        statement = statement.where(
            or_(
                func.lower(Organization.name).contains(text.lower(), autoescape=True),
                Organization.slug.contains(text.lower(), autoescape=True),
            )
        )
    if meta is not None:
        statement = statement.where(metadata_matches(Organization.meta, *meta, dialect=dialect))
    return statement


class OrgsController(Controller):
    path = "/orgs"
    tags = ["organizations"]

    @get("/", opt={SCOPE_OPT: Scope.READ}, summary="List organizations")
    async def list_orgs(
        self,
        db_session: AsyncSession,
        settings: Settings,
        api: ApiCaller,
        q: str = "",
        metadata: str = "",
        cursor: CursorParam = None,
        limit: PageSize = 50,
    ) -> OrgList:
        """By name, newest page after page (`next_cursor`). `q`: part of the name or slug;
        `metadata`: `key=value` (`tier=gold`, `seats=50` the number, `trial=true`, `code="50"` the
        text). An org key lists only its own org. One statement per page."""
        wanted = None
        if metadata:
            wanted = parse_search(clean_query_text(metadata, 200))
            if wanted is None:
                raise InvalidInput.on("metadata", "Write key=value, e.g. industry=food, employees=50 or trial=true.")
        page = await keyset_page(
            db_session,
            list_statement(
                text=clean_query_text(q),
                meta=wanted,
                only_org=api.org_id,
                dialect=db_session.bind.dialect.name,
            ),
            order_by=[Organization.name, Organization.id],
            key=lambda row: (row[0].name, row[0].id),
            key_types=(str, UUID),
            cursor=cursor,
            per_page=limit,
        )
        return OrgList(
            items=[org_out(org, member_count=members, settings=settings) for org, members in page.items],
            next_cursor=page.next_cursor,
        )

    @post("/", opt={SCOPE_OPT: Scope.WRITE}, summary="Create an organization")
    async def create_org(self, db_session: AsyncSession, settings: Settings, api: ApiCaller, data: OrgCreate) -> OrgOut:
        """The owner (an existing user, by id or email) becomes its owner as if they had created
        it in the portal. App keys only."""
        app_key_only(api, "creating an org")
        rows = metadata_rows(data.metadata) if data.metadata else []
        owner = await find_user(db_session, data.owner)
        if owner is None:
            raise InvalidInput.on("owner", "No user has this id or email. Create them first: POST /api/v1/users.")
        try:
            org = await org_services.create_organization(
                db_session,
                creator=owner,
                name=data.name,
                slug=data.slug or "",
                brand_color="",
                logo=None,
                actor=api.actor,
                settings=settings,
            )
        except NotPermitted:
            raise InvalidInput.on(
                "owner",
                f"{owner.email} hasn't confirmed their email address, and an org's owner must have. "
                "If your product has confirmed it, create the user with `email_verified: true`.",
            ) from None
        except InvalidInput as exc:  # e.g. past TENANTRY_MAX_ORGS_PER_USER: the owner's problem
            raise InvalidInput({("owner" if f == "__all__" else f): m for f, m in exc.errors.items()}) from None
        if rows:
            with metadata_fields(rows):
                await change_org_metadata(db_session, org=org, rows=rows, actor=api.actor)
        if data.plan:
            await set_plan(db_session, settings, org=org, plan=data.plan, api=api)
        return org_out(org, member_count=1, settings=settings)

    @get("/{org:str}", opt={SCOPE_OPT: Scope.READ}, summary="An organization, by id or slug")
    async def get_org(self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str) -> OrgOut:
        found = await org_in_reach(db_session, api, org)
        members = await count_active_members(db_session, org_id=found.id)
        return org_out(found, member_count=members, settings=settings)

    @patch(
        "/{org:str}",
        opt={SCOPE_OPT: Scope.WRITE},
        summary="Rename, move, or change metadata or plan",
    )
    async def update_org(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, data: OrgUpdate
    ) -> OrgOut:
        """Only the fields given change, each through the portal's own verb and with its own
        audit event; a refused field changes nothing at all."""
        found = await org_in_reach(db_session, api, org)
        if data.plan is not None and api.org_id is not None:
            raise NotPermitted.on("plan", "An org key can't change its org's plan: that needs an app key.")
        rows = metadata_rows(data.metadata) if data.metadata is not None else None
        if data.name is not None:
            await org_services.rename_organization(db_session, org=found, name=data.name, actor=api.actor)
        if data.slug is not None:
            await org_services.change_slug(db_session, org=found, slug=data.slug, actor=api.actor)
        if rows is not None:
            with metadata_fields(rows):
                await change_org_metadata(db_session, org=found, rows=rows, actor=api.actor)
        if data.plan is not None:
            await set_plan(db_session, settings, org=found, plan=data.plan, api=api)
        members = await count_active_members(db_session, org_id=found.id)
        return org_out(found, member_count=members, settings=settings)

    @delete("/{org:str}", opt={SCOPE_OPT: Scope.WRITE}, summary="Delete an organization")
    async def delete_org(self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str) -> None:
        """The portal's deletion: hidden at once, restorable by support for
        TENANTRY_ORG_RESTORE_DAYS, then purged. App keys only."""
        found = await org_in_reach(db_session, api, org)
        app_key_only(api, "deleting an org")
        await org_services.delete_organization(
            db_session,
            org=found,
            confirmation=found.slug,
            restore_days=settings.org_restore_days,
            actor=api.actor,
        )
