"""The one way to resolve an org: every /o/{slug}/... route passes through `require_org_access`.

It loads the org and the caller's active membership and permissions. No membership, or a deleted
org: 404, with no hint that the org exists. Membership without the route's permission: 403. Each org-scoped
handler declares the permission it needs as ``opt={"permission": ...}`` (None: any member).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy import and_, select

from tenantry.access.permissions import Permission
from tenantry.access.services import EffectivePermissions, effective_permissions
from tenantry.accounts.models import User
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.lifecycle import note_activity
from tenantry.orgs.models import Organization, SlugRedirect
from tenantry.orgs.services import remember_last_org
from tenantry.orgs.slugs import looks_like_slug
from tenantry.runtime import runtime_of
from tenantry.web.errors import Moved

PERMISSION_OPT = "permission"


@dataclass(frozen=True)
class OrgContext:
    org: Organization
    membership: Membership
    permissions: EffectivePermissions

    def can(self, permission: Permission | str) -> bool:
        return self.permissions.has(permission)


async def require_org_access(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    user: User | None = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    slug = str(connection.path_params.get("slug", ""))
    if not looks_like_slug(slug):  # not even the shape of an address: nothing to look up
        raise NotFoundException()
    db = runtime_of(connection.app).alchemy.provide_session(connection.app.state, connection.scope)
    row = (
        await db.execute(
            select(Organization, Membership)
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
    org, membership = row
    if membership is None:
        raise NotFoundException()
    await note_activity(runtime_of(connection.app).sessionmaker, org=org)
    if org.slug != slug:  # /o/ACME -> /o/acme
        raise Moved(_replace_slug(connection, slug, org.slug))
    permissions = await effective_permissions(db, user_id=user.id, org_id=org.id)
    context = OrgContext(org=org, membership=membership, permissions=permissions)
    connection.state.org_context = context  # the 403 page shows the org's layout too
    required = handler.opt.get(PERMISSION_OPT)
    if required is not None and not permissions.has(required):
        raise PermissionDeniedException()
    if connection.method == "GET" and user.last_org_id != org.id:
        await remember_last_org(db, user_id=user.id, org_id=org.id)
        user.last_org_id = org.id


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
