"""Every API error as an RFC 9457 problem document (application/problem+json).

{"type": "about:blank", "title": "...", "status": 422, "detail": "...", "errors": [{"field": ..., "message": ...}]}
A validation error names its field; nothing an API client sends yields a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.lib.ratelimit import RateLimited
from tenantry.lib.request_id import request_id

logger = logging.getLogger("tenantry.api")
PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
}


class Problem(HTTPException):
    """Raised by API code for a refusal with its own sentence."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(status_code=status, detail=detail)
        self.errors = errors or []


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id(request.scope),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_of(key: str) -> str:
    if key == "data":  # Litestar's name for the whole body: it was missing or not an object
        return "body"
    return key.split(".", 1)[-1] if key.startswith("body.") else key


def _message_of(item: dict) -> str:
    message = str(item.get("message", "Invalid value."))
    if item.get("key") == "data" and message.strip("'\"") == "data":
        return "Send a JSON object as the request body."
    return message.removeprefix("Value error, ")


def on_problem(request: Request, exc: Problem) -> Response:
    return problem(request, exc.status_code, str(exc.detail), errors=exc.errors)


def on_validation(request: Request, exc: ValidationException) -> Response:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            field = _field_of(str(item.get("key") or item.get("source") or "body"))
            errors.append({"field": field, "message": _message_of(item)})
    fields = ", ".join(sorted({e["field"] for e in errors})) or "the body"
    return problem(request, 422, f"Check {fields}.", errors=errors)


def on_invalid_input(request: Request, exc: InvalidInput) -> Response:
    errors = [{"field": field, "message": message} for field, message in exc.errors.items() if field != "__all__"]
    detail = exc.errors.get("__all__") or " ".join(exc.errors.values())
    return problem(request, exc.status, detail, errors=errors)


def on_not_found(request: Request, exc: Exception) -> Response:
    return problem(request, 404, "No such resource, or this key can't reach it.")


def on_unauthorized(request: Request, exc: Exception) -> Response:
    detail = (
        exc.detail
        if isinstance(exc, HTTPException) and exc.detail != "Unauthorized"
        else "A valid API key is required."
    )
    return problem(request, 401, str(detail), headers={"WWW-Authenticate": 'Bearer realm="tenantry"'})


def on_forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    detail = str(exc.detail) if exc.detail and exc.detail != "Forbidden" else "This key may not do this."
    return problem(request, 403, detail)


def on_rate_limited(request: Request, exc: RateLimited) -> Response:
    return problem(
        request,
        429,
        f"Too many requests for this key; try again in {exc.retry_after_seconds} seconds.",
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


def on_http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        return on_server_error(request, exc)
    detail = str(exc.detail) if exc.detail and exc.detail != TITLES.get(status) else TITLES.get(status, "Error")
    return problem(request, status, detail)


def on_too_deep(request: Request, exc: RecursionError) -> Response:
    return problem(request, 400, "The JSON body is nested too deeply to read.")


def on_server_error(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled API error (request id %s)", request_id(request.scope), exc_info=exc)
    return problem(request, 500, "Something went wrong on our side; it has been logged.")


API_EXCEPTION_HANDLERS = {
    Problem: on_problem,
    ValidationException: on_validation,
    InvalidInput: on_invalid_input,
    NotFound: on_not_found,
    NotFoundException: on_not_found,
    NotAuthorizedException: on_unauthorized,
    PermissionDeniedException: on_forbidden,
    RateLimited: on_rate_limited,
    HTTPException: on_http_error,
    RecursionError: on_too_deep,
    Exception: on_server_error,
}
