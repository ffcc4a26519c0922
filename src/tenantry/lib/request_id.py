"""A request id per request: taken from a proxy's X-Request-ID when well-formed, else made here.

It is written into every audit event and returned in the response, so a log line, an event and
a user's bug report can be matched up.
"""

from __future__ import annotations

import re
import uuid

from litestar.datastructures import Headers
from litestar.types import Scope

_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        incoming = Headers.from_scope(scope).get("x-request-id", "")
        state["request_id"] = incoming if _WELL_FORMED.match(incoming) else uuid.uuid4().hex
    return state["request_id"]
