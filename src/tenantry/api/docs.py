"""/api/docs: the API reference, rendered on the server from the OpenAPI document itself.

The usual documentation viewers load scripts from CDNs or need inline script and styles, which
the portal's CSP (default-src 'self') forbids; a page made from the same document needs neither."""

from __future__ import annotations

import re

from litestar import Request, get
from litestar.response import Template
from markupsafe import Markup, escape

from tenantry.api.openapi import PROBLEMS
from tenantry.api.router import API_PREFIX

METHODS = ("get", "post", "put", "patch", "delete")


def _prose(text: str) -> Markup:
    """Descriptions as the document writes them: `code` in backticks, the rest plain text."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))  # noqa: S704 - escaped first


def _operations(schema: dict) -> list[dict]:
    """Each operation, grouped by its first tag, in the document's order."""
    found = []
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method in METHODS:
            operation = item.get(method)
            if not operation:
                continue
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or ["other"])[0],
                    "summary": operation.get("summary", ""),
                    "description": _prose(operation.get("description", "")),
                    "parameters": [
                        {**parameter, "description": _prose(parameter.get("description", ""))}
                        for parameter in operation.get("parameters", [])
                    ],
                    "body": body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1],
                    # Errors are the same problem documents everywhere: listed once on the page.
                    "responses": sorted(
                        (code, response)
                        for code, response in operation.get("responses", {}).items()
                        if not code.isdigit() or int(code) not in PROBLEMS
                    ),
                    "id": operation.get("operationId", f"{method}-{path}"),
                }
            )
    return found


@get("/api/docs", opt={"public": True}, include_in_schema=False, name="api_docs")
async def api_docs(request: Request) -> Template:
    schema = request.app.openapi_schema.to_schema()
    operations = _operations(schema)
    tags = list(dict.fromkeys(operation["tag"] for operation in operations))
    return Template(
        "api/docs.html",
        context={
            "info": schema.get("info", {}),
            "openapi_version": schema.get("openapi", ""),
            "operations": operations,
            "tags": tags,
            "schemas": schema.get("components", {}).get("schemas", {}),
            "problems": {status: _prose(text) for status, text in PROBLEMS.items()},
        },
    )
