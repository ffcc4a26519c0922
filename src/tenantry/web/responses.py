"""Responses the portal uses everywhere."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER


def see_other(path: str, **kwargs: Any) -> Redirect:
    """POST-redirect-GET: 303, so the browser follows with a GET and a reload doesn't resubmit."""
    return Redirect(path, status_code=HTTP_303_SEE_OTHER, **kwargs)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never //evil.example or /\\evil.example."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 2000:
        return target
    return default
