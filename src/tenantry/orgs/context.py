"""The one way to resolve an org: every /o/{slug}/... route passes through `require_org_access`.

It loads the org and the caller's active membership and permissions. No membership, or a deleted
org: 404, with no hint that the org exists. Membership without the route's permission: 403. Each org-scoped
handler declares the permission it needs as ``opt={"permission": ...}`` (None: any member).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.flash import flash
from sqlalchemy import and_, select

from tenantry.access.permissions import BuiltinRole, Permission
from tenantry.access.services import EffectivePermissions, effective_permissions, role_change_refusal
from tenantry.accounts.models import User, UserSession
from tenantry.accounts.sessions import end_session
from tenantry.lib.clock import utcnow
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.lifecycle import note_activity
from tenantry.orgs.models import Organization, OrgSettingsOverrides, SlugRedirect
from tenantry.orgs.services import remember_last_org
from tenantry.orgs.settings import OrgSettings, apply_policies, org_settings_of
from tenantry.orgs.slugs import looks_like_slug
from tenantry.plans.catalog import Feature, PlanCatalog
from tenantry.plans.models import PlanOverride
from tenantry.plans.services import Entitlements, entitlements_for, plan_catalog, unavailable_sentence
from tenantry.runtime import Runtime, runtime_of
from tenantry.support.services import refusal_for
from tenantry.support.web import impersonation_of, refuse_change
from tenantry.web.errors import Moved

PERMISSION_OPT = "permission"
FEATURE_OPT = "feature"  # a route of a plan feature, e.g. opt={"feature": Feature.GROUPS}


@dataclass(frozen=True)
class OrgContext:
    org: Organization
    membership: Membership
    permissions: EffectivePermissions  # as this org's policies leave them (orgs/settings.py: apply_policies)
    settings: OrgSettings
    entitlements: Entitlements
    plans: PlanCatalog

    def can(self, permission: Permission | str) -> bool:
        return self.permissions.has(permission)

    def has(self, feature: Feature | str) -> bool:
        """Whether the org's plan (with any override) includes a feature."""
        return self.entitlements.has(feature)

    def may_change_roles_of(self, user_id: UUID, role_keys: Iterable[str]) -> bool:
        """Whether to offer the role editor for a member holding these direct roles: the rule
        set_member_roles enforces."""
        return self.can(Permission.MEMBERS_MANAGE) and not role_change_refusal(
            self.permissions,
            actor_user_id=self.membership.user_id,
            target_user_id=user_id,
            target_is_owner=BuiltinRole.OWNER in set(role_keys),
        )

    def unavailable(self, feature: Feature | str) -> str | None:
        """Why a feature is off for this org (the sentence beside its disabled controls); None: it's on."""
        if self.has(feature):
            return None
        return unavailable_sentence(self.plans, self.entitlements, Feature(feature))


class FeatureUnavailable(PermissionDeniedException):
    """A route of a feature the org's plan lacks: refused with a sentence and where to upgrade."""

    def __init__(self, detail: str, *, plan_url: str | None) -> None:
        super().__init__(detail=detail)
        self.plan_url = plan_url


async def require_org_access(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    user: User | None = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    slug = str(connection.path_params.get("slug", ""))
    if not looks_like_slug(slug):  # not even the shape of an address: nothing to look up
        raise NotFoundException()
    runtime = runtime_of(connection.app)
    db = runtime.alchemy.provide_session(connection.app.state, connection.scope)
    row = (
        await db.execute(
            select(Organization, Membership, OrgSettingsOverrides, PlanOverride)
            .outerjoin(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
            .outerjoin(PlanOverride, PlanOverride.org_id == Organization.id)
            .outerjoin(
                Membership,
                and_(
                    Membership.org_id == Organization.id,
                    Membership.user_id == user.id,
                    Membership.status == MembershipStatus.ACTIVE,
                ),
            )
            .where(Organization.slug == slug.lower(), Organization.deleted_at.is_(None))
        )
    ).first()
    if row is None:
        await _redirect_if_moved(db, connection, slug=slug, user=user)
        raise NotFoundException()
    org, membership, overrides, plan_override = row
    if membership is None:
        raise NotFoundException()
    live = impersonation_of(connection)
    if live is None:  # support looking around is not the customer's activity
        await note_activity(runtime.sessionmaker, org=org)
    if org.slug != slug:  # /o/ACME -> /o/acme
        raise Moved(_replace_slug(connection, slug, org.slug))
    org_settings = org_settings_of(runtime.settings, org, overrides)
    if live is not None:
        # The trail (support/web.py) files this request in the org's log, even when it is refused.
        connection.state.viewed_org_id = org.id
        refusal = await refusal_for(db, live=live, org=org, policy=org_settings.support_access.value)
        if refusal:
            raise PermissionDeniedException(detail=refusal)
    else:  # the org's sign-in age applies to its members' own sessions, not a staff browser's
        await _check_session_age(connection, runtime, org=org, org_settings=org_settings)
    permissions = apply_policies(await effective_permissions(db, user_id=user.id, org_id=org.id), org_settings)
    catalog = plan_catalog(runtime.settings)
    entitlements = entitlements_for(catalog, org, plan_override)
    context = OrgContext(
        org=org,
        membership=membership,
        permissions=permissions,
        settings=org_settings,
        entitlements=entitlements,
        plans=catalog,
    )
    connection.state.org_context = context  # the 403 page shows the org's layout too
    required = handler.opt.get(PERMISSION_OPT)
    if required is not None and not permissions.has(required):
        raise PermissionDeniedException()
    refuse_change(connection, handler)  # a read-only impersonation: nothing changes
    feature = handler.opt.get(FEATURE_OPT)
    if feature is not None and not entitlements.has(feature):
        plan_url = f"/o/{org.slug}/plan" if permissions.has(Permission.PLAN_MANAGE) else None
        raise FeatureUnavailable(unavailable_sentence(catalog, entitlements, feature), plan_url=plan_url)
    if connection.method == "GET" and user.last_org_id != org.id and live is None:
        await remember_last_org(db, user_id=user.id, org_id=org.id)
        user.last_org_id = org.id


async def _check_session_age(
    connection: ASGIConnection, runtime: Runtime, *, org: Organization, org_settings: OrgSettings
) -> None:
    """An org may want its members to have signed in recently: past its limit, this session ends
    (other orgs' pages would have kept it) and the member signs in again to come back."""
    hours = org_settings.session_hours.value
    session: UserSession | None = connection.scope.get("auth")
    if hours is None or session is None:
        return
    if utcnow() - session.created_at < datetime.timedelta(hours=hours):
        return
    async with runtime.sessionmaker() as db:  # its own transaction: the request's rolls back on 401
        await end_session(db, session_id=session.id)
        await db.commit()
    flash(
        connection,
        f"{org.name} asks its members to sign in again every {hours} hour{'s' if hours != 1 else ''}. "
        "Sign in to continue.",
        category="info",
    )
    raise NotAuthorizedException()


async def _redirect_if_moved(db, connection: ASGIConnection, *, slug: str, user: User) -> None:
    """An old slug of an org the caller belongs to redirects permanently; for anyone else, 404."""
    new_slug = await db.scalar(
        select(Organization.slug)
        .join(SlugRedirect, SlugRedirect.org_id == Organization.id)
        .join(Membership, Membership.org_id == Organization.id)
        .where(
            SlugRedirect.old_slug == slug.lower(),
            Organization.deleted_at.is_(None),
            Membership.user_id == user.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if new_slug:
        raise Moved(_replace_slug(connection, slug, new_slug))


def _replace_slug(connection: ASGIConnection, old: str, new: str) -> str:
    path = connection.url.path
    prefix = f"/o/{old}"
    location = f"/o/{new}{path[len(prefix) :]}" if path.startswith(prefix) else f"/o/{new}"
    if connection.url.query:
        location += "?" + connection.url.query
    return location


def provide_org_context(request: Request) -> OrgContext:
    return request.state.org_context
