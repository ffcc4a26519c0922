"""A request id per request, made here and returned as X-Request-ID.

It is written into every audit event and shown on error pages, so a log line, an event and a
user's report can be matched up. An incoming X-Request-ID is ignored: a client must not be able
to choose the id the audit log records.
"""

from __future__ import annotations

import uuid

from litestar.types import Scope


def request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
    return state["request_id"]
