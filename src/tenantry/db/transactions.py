"""One transaction per request, committed before the response leaves.

A 2xx/3xx response commits the request's session; anything else rolls it back. If the commit
itself fails (a lost connection, a serialization failure), the user must not be told their
change was saved: the response is replaced by an error page. advanced-alchemy's stock handler
swallows such failures at debug level, hence this one.
"""

from __future__ import annotations

import logging
from html import escape

from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_TERMINUS_ASGI_EVENTS
from litestar.types import Message, Scope
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.lib.request_id import request_id
from tenantry.lib.words import words

logger = logging.getLogger("tenantry")

_FAILED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not saved · Tenantry</title>
<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main"><section class="card narrow">
<h1>Your change was not saved</h1><p>Something went wrong on our side while saving. Nothing was changed.
Go back and try again; if it keeps happening, tell your administrator the reference below.</p>
<p class="muted small">Reference: <code>{reference}</code></p>
<p><a class="btn" href="/">Go to your {orgs}</a></p>
</section></main></body></html>"""
# Headers that described the response we are no longer sending.
_DROPPED_HEADERS = {b"content-type", b"content-length", b"location", b"set-cookie", b"hx-redirect"}


def transaction_handler(session_scope_key: str):
    async def handle(message: Message, scope: Scope) -> None:
        session: AsyncSession | None = get_aa_scope_state(scope, session_scope_key)
        state = scope.setdefault("state", {})
        try:
            if session is not None and message["type"] == "http.response.start":
                if 200 <= message["status"] < 400:
                    try:
                        await session.commit()
                    except Exception:
                        logger.exception("Commit failed (request id %s); answering 500", request_id(scope))
                        await _rollback_quietly(session)
                        _replace_with_failure(message, scope)
                else:
                    await session.rollback()
            elif message["type"] == "http.response.body" and "commit_failed_body" in state:
                message["body"] = state.pop("commit_failed_body")
                state["commit_failed_sent"] = True
            elif message["type"] == "http.response.body" and state.get("commit_failed_sent"):
                message["body"] = b""
        finally:
            if session is not None and message["type"] in SESSION_TERMINUS_ASGI_EVENTS:
                await session.close()
                delete_aa_scope_state(scope, session_scope_key)

    return handle


async def _rollback_quietly(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except Exception:
        logger.debug("Rollback after a failed commit failed too", exc_info=True)


def _replace_with_failure(message: Message, scope: Scope) -> None:
    body = _FAILED_PAGE.format(reference=escape(request_id(scope)), orgs=escape(words().orgs)).encode()
    headers = [(name, value) for name, value in message.get("headers", []) if name.lower() not in _DROPPED_HEADERS]
    headers += [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    message["status"] = 500
    message["headers"] = headers
    scope["state"]["commit_failed_body"] = body
