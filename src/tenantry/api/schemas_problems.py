"""The problem documents (RFC 9457, api/problems.py) the routes of orgs, users and events may
answer with, declared in the OpenAPI document so that clients and Schemathesis know them."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from pydantic import Field

from tenantry.api.problems import PROBLEM_JSON
from tenantry.api.schemas import ApiModel


class FieldError(ApiModel):
    field: str = Field(description="The field refused: a body field (`name`, `metadata.tier`) or a query parameter")
    message: str


class ProblemOut(ApiModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="One per refused field (422, some 403 and 409)")


WHY = {
    400: "A malformed request, e.g. a body that isn't JSON",
    401: "No API key, or an unknown, revoked or expired one",
    403: "The key lacks the scope, or may not do this (e.g. an org key creating orgs)",
    404: "No such resource, or this key can't reach it",
    409: "It already exists",
    422: "Invalid input: `errors` names each field",
    429: "Too many requests for this key: see Retry-After",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problems a route may answer with; 400, 401, 403 and 429 are possible on every route."""
    return {
        status: ResponseSpec(
            data_container=ProblemOut, description=WHY[status], media_type=PROBLEM_JSON, generate_examples=False
        )
        for status in sorted({400, 401, 403, 429, *statuses})
    }
