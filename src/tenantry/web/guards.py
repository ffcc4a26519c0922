"""The app-wide guards: every route needs a signed-in user unless it says `opt={"public": True}`;
and, with TENANTRY_REQUIRE_ORG, a user in no org reaches only the routes that say
`opt={REACHABLE_WITHOUT_ORG: True}` (the rest send them to "create or join")."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler
from sqlalchemy import select

from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization
from tenantry.runtime import runtime_of

# What a signed-in user without any org may still use: signing out, their account's essentials,
# creating an org, a join link, and the "create or join" page itself. Public routes need no mark.
REACHABLE_WITHOUT_ORG = "reachable_without_org"
START_PATH = "/orgs/start"


class NeedsAnOrg(Exception):
    """The user belongs to no org and TENANTRY_REQUIRE_ORG is on: off to "create or join"."""


def require_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if handler.opt.get("public"):
        return
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()


def staff_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """For /staff controllers: 404 to anyone but staff, as if nothing were there. Runs after the
    app's sign-in guard, so an anonymous visitor is sent to sign in first. A staff browser in an
    impersonation is the customer here, so it can't start another one inside it."""
    user = connection.scope.get("user")
    if user is None or not user.is_staff:
        raise NotFoundException


async def require_an_org(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if handler.opt.get("public") or handler.opt.get(REACHABLE_WITHOUT_ORG):
        return
    user = connection.scope.get("user")
    if user is None or user.is_staff:  # staff work from /staff, in no org of their own
        return
    runtime = runtime_of(connection.app)
    if not runtime.settings.require_org:
        return
    # Full pages already carry the switcher (the user's active orgs): no extra query for them.
    switcher = connection.scope.get("state", {}).get("switcher")
    if switcher is not None:
        if switcher:
            return
    else:
        db = runtime.alchemy.provide_session(connection.app.state, connection.scope)
        active = await db.scalar(
            select(Membership.id)
            .join(Organization, Organization.id == Membership.org_id)
            .where(
                Membership.user_id == user.id,
                Membership.status == MembershipStatus.ACTIVE,
                Organization.deleted_at.is_(None),
            )
            .limit(1)
        )
        if active is not None:
            return
    raise NeedsAnOrg
