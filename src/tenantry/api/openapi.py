"""The OpenAPI document says what errors look like: every API operation may answer with an RFC
9457 problem (api/problems.py), so each error status is documented with the Problem schema —
clients (and Schemathesis) can then check error bodies as strictly as successful ones."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema

from tenantry.api.problems import PROBLEM_JSON
from tenantry.api.router import API_PREFIX

PROBLEMS = {
    400: "The request can't be read (e.g. malformed JSON)",
    401: "No API key, or an unknown, revoked or expired one",
    403: "The key lacks the scope, or the rules refuse the change",
    404: "No such resource, or not one this key can reach",
    409: "The change conflicts with the current state",
    422: "Invalid input; `errors` names each field",
    429: "This key's rate limit is reached; see Retry-After",
}
PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "request_id": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={"field": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING)},
            ),
        ),
    },
    description="An RFC 9457 problem document",
)


def document_problems(app: Litestar) -> None:
    """Add the Problem schema and the error responses to every /api/v1 operation."""
    document = app.openapi_schema
    assert document.components is not None
    schemas = dict(document.components.schemas or {})
    schemas["Problem"] = PROBLEM_SCHEMA
    document.components.schemas = schemas
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, item in (document.paths or {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for operation in (item.get, item.post, item.put, item.patch, item.delete):
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for status, text in PROBLEMS.items():
                responses[str(status)] = OpenAPIResponse(description=text, content=content)
            operation.responses = responses
