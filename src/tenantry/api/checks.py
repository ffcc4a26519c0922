"""`POST /api/v1/check`: may this user do this in this org? The portal's own answer: the roles
held directly and through groups (access.services.effective_permissions), less what the org's
policies take away (orgs.settings.apply_policies) — the same function the portal's guards ask."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from tenantry.access.catalog import Catalog
from tenantry.access.services import effective_permissions
from tenantry.accounts.models import User
from tenantry.api.auth import ApiCaller
from tenantry.api.schemas import CheckRequest, CheckResult, PermissionSourceOut
from tenantry.config import Settings
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.settings import apply_policies, org_settings_of


def as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def can_name_something(ref: str, max_length: int = 320) -> bool:
    """Whether a reference (an id, a slug, an email) could name anything at all. Control
    characters and lone surrogates can't, and PostgreSQL refuses NUL in a query outright."""
    if not 0 < len(ref) <= max_length or any(ord(ch) < 32 or ord(ch) == 127 for ch in ref):
        return False
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def find_org(db: AsyncSession, ref: str) -> tuple[Organization, OrgSettingsOverrides | None] | None:
    """A live org by id or slug, with its settings row (one statement)."""
    if not can_name_something(ref, 100):
        return None
    org_id = as_uuid(ref)
    match = Organization.id == org_id if org_id else Organization.slug == ref.lower()
    row = (
        await db.execute(
            select(Organization, OrgSettingsOverrides)
            .outerjoin(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
            .where(match, Organization.deleted_at.is_(None))
        )
    ).first()
    return (row[0], row[1]) if row else None


async def org_in_reach(db: AsyncSession, api: ApiCaller, ref: str) -> Organization:
    """The live org a path names by id or slug, if this key may reach it; otherwise 404."""
    found = await find_org(db, ref)
    if found is None:
        raise NotFound
    api.reach(found[0].id)
    return found[0]


def user_named(ref: str) -> ColumnElement[bool] | None:
    """The condition that finds a user by id or (case-insensitive) email; None: nobody can match."""
    if not can_name_something(ref):
        return None
    user_id = as_uuid(ref)
    return User.id == user_id if user_id else User.email == ref.strip().lower()


async def find_user_id(db: AsyncSession, ref: str) -> UUID | None:
    match = user_named(ref)
    return None if match is None else await db.scalar(select(User.id).where(match))


def _stranger(caller: ApiCaller) -> CheckResult:
    """A user who doesn't exist. An org key may not learn which addresses have accounts
    elsewhere: to it, such a user is just not a member."""
    reason = "not_a_member" if caller.org_id is not None else "no_such_user"
    return CheckResult(allowed=False, sources=[], reason=reason)


async def check(
    db: AsyncSession,
    *,
    settings: Settings,
    catalog: Catalog,
    caller: ApiCaller,
    question: CheckRequest,
    missing_org_raises: bool = True,
) -> CheckResult:
    if question.permission not in catalog:
        raise InvalidInput.on("permission", f"`{question.permission}` isn't a permission this deployment declares.")
    found = await find_org(db, question.org)
    if found is not None and caller.org_id not in (None, found[0].id):
        found = None  # an org key asking about another org: as if it didn't exist
    if found is None:
        if missing_org_raises:
            raise NotFound
        return CheckResult(allowed=False, sources=[], reason="no_such_org")
    org, overrides = found
    # Asked by id, the user needs no lookup of its own: holding a role here means they exist (and
    # are a member); the rare answer without roles is told apart below.
    user_id = as_uuid(question.user)
    if user_id is None:
        user_id = await find_user_id(db, question.user)
        if user_id is None:
            return _stranger(caller)
    held = await effective_permissions(db, user_id=user_id, org_id=org.id)
    if not held.roles:
        user_and_membership = (
            await db.execute(
                select(User.id, Membership.id)
                .outerjoin(
                    Membership,
                    and_(
                        Membership.user_id == User.id,
                        Membership.org_id == org.id,
                        Membership.status == MembershipStatus.ACTIVE,
                    ),
                )
                .where(User.id == user_id)
            )
        ).first()
        if user_and_membership is None:
            return _stranger(caller)
        if user_and_membership[1] is None:
            return CheckResult(allowed=False, sources=[], reason="not_a_member")
    permissions = apply_policies(held, org_settings_of(settings, org, overrides))
    sources = permissions.sources.get(question.permission, [])
    return CheckResult(
        allowed=bool(sources),
        sources=[PermissionSourceOut(role=source.role_name, group=source.group_name) for source in sources],
        reason="granted" if sources else "not_granted",
    )
