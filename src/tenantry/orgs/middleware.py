"""Loads the org switcher for every full page a signed-in user sees (one query).

Done before the handler so that error pages, rendered by synchronous exception handlers, show
the same header as every other page. htmx fragment requests skip it.
"""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from tenantry.orgs.services import switcher_entries
from tenantry.runtime import runtime_of


class SwitcherMiddleware(ASGIMiddleware):
    # The API answers JSON; its docs page (/api/docs) is a page like the others.
    exclude_path_pattern = ("^/static/", "^/media/", "^/theme/", "^/healthz", "^/readyz", "^/api/v1/", "^/api/schema")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        user = scope.get("user")
        is_fragment = any(name == b"hx-request" for name, _ in scope.get("headers", []))
        if user is not None and not is_fragment:
            runtime = runtime_of(scope["app"])
            async with runtime.sessionmaker() as db:
                scope["state"]["switcher"] = await switcher_entries(db, user_id=user.id)
        await next_app(scope, receive, send)
