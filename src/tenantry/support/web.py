"""Impersonation in the request flow: the read-only guard and the trail of every request.

SessionAuthMiddleware (accounts/middleware.py) puts a live impersonation on the request
(``request.state.impersonation``) and the customer in ``scope["user"]``; from there on every
page renders as the customer sees it. Here: refusing changes in a read-only impersonation, and
recording each request in the activity log with both identities.
"""

from __future__ import annotations

import logging
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.audit.services import Target, record_event
from tenantry.lib.request_id import request_id
from tenantry.lib.words import words
from tenantry.runtime import runtime_of
from tenantry.support.services import LiveImpersonation

logger = logging.getLogger("tenantry.support")

# opt of the few unsafe routes an impersonation may always use: ending it, signing out.
DURING_IMPERSONATION = "during_impersonation"
# opt of the org routes that stay the customer's own even when support has write access.
CUSTOMERS_OWN = "customers_own"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ORG_ROUTES = "/o/{slug"


def impersonation_of(scope: Scope | ASGIConnection) -> LiveImpersonation | None:
    state = scope.scope.get("state", {}) if isinstance(scope, ASGIConnection) else scope.get("state", {})
    return state.get("impersonation")


class SupportRefusal(HTTPException):
    """A change support may not make now; the page says why, and nothing was changed."""

    status_code = 403
    title = "Nothing was changed"


class ReadOnlyImpersonation(SupportRefusal):
    title = "Read-only: nothing was changed"

    def __init__(self, live: LiveImpersonation) -> None:
        super().__init__(
            detail=f"You are viewing as {live.target.name} in read-only mode, so nothing was changed. "
            "End the impersonation and start one with write access (support-admins) if this change is needed."
        )


class CustomersOwnDecision(SupportRefusal):
    title = "Only the customer can do this"

    def __init__(self, live: LiveImpersonation) -> None:
        super().__init__(
            detail=f"Write access covers {words().an_org}'s data, not {live.target.name}'s own account or "
            f"their decisions about the {words().org} itself (its ownership, deletion, leaving it, or "
            "support's access). Nothing was changed."
        )


class ImpersonationRanOut(SupportRefusal):
    status_code = 409
    title = "Your impersonation had ended"

    def __init__(self) -> None:
        super().__init__(
            detail="Its time ran out before this was sent, so nothing was changed: it would have been "
            "done as you, not as the customer."
        )


def refuse_changes_while_impersonating(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard for unsafe requests around an impersonation.

    Outside orgs (the customer's account, creating or joining an org) support changes nothing,
    write access or not. Org routes are decided by the org guard, which calls `refuse_change` once
    it knows the org: the refusal then wears the org's layout, is in its log, and an org that keeps
    support out says so first."""
    if connection.method in SAFE_METHODS or handler.opt.get(DURING_IMPERSONATION):
        return
    if connection.scope.get("state", {}).get("impersonation_ran_out"):
        raise ImpersonationRanOut
    live = impersonation_of(connection)
    if live is None or str(connection.scope.get("path_template", "")).startswith(ORG_ROUTES):
        return
    raise ReadOnlyImpersonation(live) if live.read_only else CustomersOwnDecision(live)


def refuse_change(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """For the org guard: read-only refuses every change; write access, the customer's own ones."""
    live = impersonation_of(connection)
    if live is None or connection.method in SAFE_METHODS or handler.opt.get(DURING_IMPERSONATION):
        return
    if live.read_only:
        raise ReadOnlyImpersonation(live)
    if handler.opt.get(CUSTOMERS_OWN):
        raise CustomersOwnDecision(live)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""


class ImpersonationTrail:
    """Records each request made during an impersonation (method, path, result), in the viewed
    org's activity log when it was an org's page. Written after the response, in its own
    transaction: it is a record of looking; changes record their own events with both names."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or impersonation_of(scope) is None:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        live = impersonation_of(scope)
        if live is None:
            return
        # An org's page: that org's log (the org guard says which). Any other page (the customer's
        # account, their org list): the log of each org the impersonation told it started.
        viewed = scope.get("state", {}).get("viewed_org_id")
        org_ids = [viewed] if viewed else [UUID(org_id) for org_id in live.row.logged_org_ids] or [None]
        method, path = scope["method"], scope["path"]
        actor = live.actor(
            ip=_address(scope), user_agent=Headers.from_scope(scope).get("user-agent", ""), request_id=request_id(scope)
        )
        try:
            async with runtime_of(scope["app"]).sessionmaker() as db:
                for org_id in org_ids:
                    record_event(
                        db,
                        actor=actor,
                        action="support.request",
                        org_id=org_id,
                        target=Target(type="request", id=str(live.row.id), label=f"{method} {path}"[:420]),
                        after={
                            "method": method,
                            "path": path[:500],
                            "status": status,
                            "impersonation_id": str(live.row.id),
                        },
                    )
                await db.commit()
        except Exception:  # the customer's page was served; a lost trail line is logged, not raised
            logger.exception("Could not record the impersonated request %s %s", method, path)
