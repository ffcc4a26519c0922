"""Impersonation in the request flow: the read-only guard and the trail of every request.

SessionAuthMiddleware (accounts/middleware.py) puts a live impersonation on the request
(``request.state.impersonation``) and the customer in ``scope["user"]``; from there on every
page renders as the customer sees it. Here: refusing changes in a read-only impersonation, and
recording each request in the activity log with both identities.
"""

from __future__ import annotations

import logging

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.audit.services import Target, record_event
from tenantry.lib.request_id import request_id
from tenantry.runtime import runtime_of
from tenantry.support.services import LiveImpersonation

logger = logging.getLogger("tenantry.support")

# opt of the few unsafe routes a read-only impersonation may still use: ending it, signing out.
DURING_IMPERSONATION = "during_impersonation"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def impersonation_of(scope: Scope | ASGIConnection) -> LiveImpersonation | None:
    state = scope.scope.get("state", {}) if isinstance(scope, ASGIConnection) else scope.get("state", {})
    return state.get("impersonation")


class ReadOnlyImpersonation(PermissionDeniedException):
    """A change attempted in a read-only impersonation: refused, nothing changed."""

    def __init__(self, live: LiveImpersonation) -> None:
        super().__init__(
            detail=f"You are viewing as {live.target.name} in read-only mode, so nothing was changed. "
            "End the impersonation and start one with write access (support-admins) if this change is needed."
        )


def refuse_changes_while_impersonating(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard. Org routes (they declare a permission) are left to the org guard, which
    calls `refuse_change` once it knows the org: the refusal then wears the org's layout, is in
    its log, and an org that keeps support out says so first."""
    if "permission" in handler.opt:
        return
    refuse_change(connection, handler)


def refuse_change(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    live = impersonation_of(connection)
    if live is None or not live.read_only or connection.method in SAFE_METHODS:
        return
    if handler.opt.get(DURING_IMPERSONATION):
        return
    raise ReadOnlyImpersonation(live)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


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
        org_id = scope.get("state", {}).get("viewed_org_id")  # set by the org guard; None: no org's page
        method, path = scope["method"], scope["path"]
        actor = live.actor(ip=_address(scope), user_agent=_header(scope, b"user-agent"), request_id=request_id(scope))
        try:
            async with runtime_of(scope["app"]).sessionmaker() as db:
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
