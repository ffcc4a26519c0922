"""Headers every response carries, errors and static files included."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from tenantry.lib.request_id import request_id

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def security_headers_hook(*, hsts: bool):
    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in _HEADERS.items():
            # A route may set a stricter value of its own (no-referrer on token pages).
            if name not in headers:
                headers[name] = value
        if "cache-control" not in headers:
            # Pages are personal: after sign-out, Back must not show them from the browser's cache.
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        headers["X-Request-ID"] = request_id(scope)

    return add_security_headers
