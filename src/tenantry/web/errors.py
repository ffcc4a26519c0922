"""Error pages: every failure a user can meet is a page in the layout with a way forward."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_303_SEE_OTHER,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.lib.ratelimit import RateLimited
from tenantry.lib.request_id import request_id
from tenantry.lib.words import words
from tenantry.support.web import SupportRefusal
from tenantry.web.guards import START_PATH, NeedsAnOrg

logger = logging.getLogger("tenantry")


class Moved(Exception):
    """The resource lives at another URL for good (an org whose slug changed)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(request: Request, template: str, status: int, **context: object) -> Response | Template:
    if _wants_json(request):
        return Response(  # RFC 9457, like the API's own errors (api/problems.py)
            {
                "type": "about:blank",
                "status": status,
                "title": context.get("title", ""),
                "detail": context.get("detail", ""),
            },
            status_code=status,
            media_type="application/problem+json",
        )
    return Template(
        template_name=template,
        context={"status": status, "request_id": request_id(request.scope), **context},
        status_code=status,
    )


def sign_in_redirect(request: Request, exc: Exception) -> Response | Template:
    if _wants_json(request):
        return _page(request, "errors/error.html", HTTP_401_UNAUTHORIZED, title="Sign in required")
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    expired = "&expired=1" if request.state.get("session_expired") else ""
    location = f"/login?next={quote(target, safe='')}{expired}" if request.method == "GET" else "/login"
    if _is_htmx(request):
        return Response(b"", status_code=HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": location})
    return Redirect(location, status_code=HTTP_303_SEE_OTHER)


def forbidden(request: Request, exc: PermissionDeniedException) -> Response | Template:
    if "csrf" in str(exc.detail).lower():
        return _page(
            request,
            "errors/error.html",
            HTTP_403_FORBIDDEN,
            title="This form has expired",
            detail="For your safety, forms stop working after a while or when cookies are cleared. "
            "Go back, reload the page and submit again.",
        )
    plan_url = getattr(exc, "plan_url", False)
    if plan_url is not False:  # a feature the org's plan lacks
        return _page(
            request,
            "errors/error.html",
            HTTP_403_FORBIDDEN,
            title="Not part of your plan",
            detail=str(exc.detail) + ("" if plan_url else " An owner or an admin who manages the plan can change it."),
            plan_url=plan_url,
        )
    return _page(
        request,
        "errors/error.html",
        HTTP_403_FORBIDDEN,
        title="You don't have access to this page",
        detail=str(exc.detail)
        if exc.detail and exc.detail != "Forbidden"
        else f"Your role in this {words().org} doesn't include this. An owner or admin can give you access.",
    )


def support_refused(request: Request, exc: SupportRefusal) -> Response | Template:
    """A change support may not make (impersonation): why, in the page, and where to go back."""
    response = _page(
        request,
        "errors/error.html",
        exc.status_code,
        title=exc.title,
        detail=str(exc.detail),
        back_url=_same_site_referer(request),
    )
    # An htmx request shows it in the page (app.js); quoted, since a name may be any Unicode.
    response.headers["X-Problem"] = quote(str(exc.detail))
    return response


def not_found(request: Request, exc: Exception) -> Response | Template:
    if _wants_json(request):  # e.g. an API path whose id isn't even a UUID: no route matched
        return _page(request, "", HTTP_404_NOT_FOUND, title="Not found", detail="No such resource.")
    return _page(
        request,
        "errors/error.html",
        HTTP_404_NOT_FOUND,
        title="Page not found",
        detail="There is nothing here, or you don't have access to it. Check the address, "
        f"or go back to your {words().orgs}.",
    )


def moved(request: Request, exc: Moved) -> Response:
    status = 301 if request.method in ("GET", "HEAD") else 308
    return Redirect(exc.location, status_code=status)


def to_start(request: Request, exc: NeedsAnOrg) -> Response:
    """TENANTRY_REQUIRE_ORG and no org yet: every other page leads to "create or join"."""
    if _wants_json(request):
        return _page(request, "errors/error.html", HTTP_403_FORBIDDEN, title=f"Create or join {words().an_org} first")
    if _is_htmx(request):
        return Response(b"", status_code=HTTP_403_FORBIDDEN, headers={"HX-Redirect": START_PATH})
    return Redirect(START_PATH, status_code=HTTP_303_SEE_OTHER)


def rate_limited(request: Request, exc: RateLimited) -> Response | Template:
    response = _page(
        request,
        "errors/error.html",
        HTTP_429_TOO_MANY_REQUESTS,
        title="Too many attempts",
        detail=f"For your account's safety we pause after many attempts. "
        f"Try again in {exc.retry_after_minutes} minute{'s' if exc.retry_after_minutes != 1 else ''}.",
    )
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def invalid_input(request: Request, exc: InvalidInput) -> Response | Template:
    # Controllers show these next to the field; one that escapes still deserves a sentence.
    return _page(
        request,
        "errors/error.html",
        exc.status,
        title="Please check what you entered",
        detail=" ".join(exc.errors.values()),
    )


def _same_site_referer(request: Request) -> str | None:
    """The page the visitor came from, when it is one of ours: a way back to their form."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return None


def http_error(request: Request, exc: HTTPException) -> Response | Template:
    status = exc.status_code
    if status == HTTP_404_NOT_FOUND:
        return not_found(request, exc)
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return _page(
            request,
            "errors/error.html",
            status,
            title="That upload is too large",
            detail="A logo can be at most 512 KB. Choose a smaller file and try again.",
            back_url=_same_site_referer(request),
        )
    if status == HTTP_405_METHOD_NOT_ALLOWED:
        if _wants_json(request):
            return _page(
                request, "", status, title="Method not allowed", detail=f"{request.method} isn't allowed here."
            )
        if request.method in ("GET", "HEAD"):
            # The address of a form's submission, opened directly (after a refused submit, it is
            # what the address bar shows): go to the page that holds the form.
            return Redirect(request.url.path.rstrip("/").rsplit("/", 1)[0] or "/", status_code=HTTP_303_SEE_OTHER)
        return _page(
            request,
            "errors/error.html",
            status,
            title="That action isn't available here",
            detail="Go back and use the buttons on the page.",
        )
    if status >= 500:
        return server_error(request, exc)
    return _page(
        request,
        "errors/error.html",
        status,
        title="Something in that request was wrong",
        detail="Go back, check the page and try again.",
    )


def server_error(request: Request, exc: Exception) -> Response | Template:
    logger.exception("Unhandled error (request id %s)", request_id(request.scope), exc_info=exc)
    return _page(
        request,
        "errors/error.html",
        HTTP_500_INTERNAL_SERVER_ERROR,
        title="Something went wrong on our side",
        detail="Nothing you did caused this, and it has been logged. Try again in a moment; if it "
        "keeps happening, tell your administrator the reference below.",
    )


EXCEPTION_HANDLERS = {
    NotFound: not_found,
    NotAuthorizedException: sign_in_redirect,
    SupportRefusal: support_refused,
    PermissionDeniedException: forbidden,
    Moved: moved,
    NeedsAnOrg: to_start,
    RateLimited: rate_limited,
    InvalidInput: invalid_input,
    HTTPException: http_error,
    HTTP_404_NOT_FOUND: not_found,
    Exception: server_error,
}
