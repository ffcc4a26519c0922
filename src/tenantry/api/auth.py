"""Who is calling the API: an `Authorization: Bearer <key>` header, checked on every request.

Unknown, revoked or expired key: 401. A route declares the scope it needs (``opt={"scope": ...}``);
a key without it: 403. An org key reaches only its own org: any other org's resource is 404, as if
it didn't exist. Each key has its own rate limit (TENANTRY_API_REQUESTS_PER_MINUTE).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy import select

from tenantry.api.keys import PRESENTED, authenticate, key_label
from tenantry.api.models import ApiKey
from tenantry.audit.services import Actor
from tenantry.lib.errors import NotFound
from tenantry.lib.ratelimit import Limit
from tenantry.lib.request_id import request_id
from tenantry.orgs.models import Organization
from tenantry.runtime import runtime_of

SCOPE_OPT = "scope"
# The opts of reading and writing routes.
READ = {SCOPE_OPT: "read"}
WRITE = {SCOPE_OPT: "write"}


@dataclass(frozen=True)
class ApiCaller:
    key: ApiKey
    actor: Actor

    def reach(self, org_id: UUID) -> None:
        """An org key asking about another org: 404, never a hint that it exists."""
        if self.key.org_id is not None and self.key.org_id != org_id:
            raise NotFound

    @property
    def org_id(self) -> UUID | None:
        """The only org an org key reaches; None for an app key (every org)."""
        return self.key.org_id


def bearer_token(connection: ASGIConnection) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def require_api_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    runtime = runtime_of(connection.app)
    token = bearer_token(connection)
    if not token:
        raise NotAuthorizedException(detail="Send your API key as `Authorization: Bearer <key>`.")
    presented = connection.scope.get("state", {}).get(PRESENTED) or await authenticate(
        runtime.sessionmaker, runtime.settings, token
    )
    if presented is None:
        raise NotAuthorizedException(detail="This API key is unknown, revoked or expired.")
    if presented.refusal:
        raise PermissionDeniedException(detail=presented.refusal)
    key = presented.key
    scope = handler.opt.get(SCOPE_OPT)
    if scope is not None and scope not in key.scopes:
        raise PermissionDeniedException(detail=f"This key lacks the `{scope}` scope.")
    limit = Limit("api:key", runtime.settings.api_requests_per_minute, 60)
    await runtime.limiter.hit(limit, str(key.id))
    if key.org_id is not None and "org" in connection.path_params:
        # Before the body is even read: another org's path is 404 for an org key, whatever it sends.
        await _refuse_other_orgs(runtime, key, str(connection.path_params["org"]))
    connection.state.api_caller = ApiCaller(
        key=key,
        actor=Actor(
            user_id=None,
            label=key_label(key),
            ip=connection.client.host if connection.client else "",
            user_agent=connection.headers.get("user-agent", ""),
            request_id=request_id(connection.scope),
            org_key=key.org_id is not None,
        ),
    )


async def _refuse_other_orgs(runtime, key: ApiKey, ref: str) -> None:
    try:
        if UUID(ref) == key.org_id:
            return
    except ValueError:
        async with runtime.sessionmaker() as db:
            own_slug = await db.scalar(select(Organization.slug).where(Organization.id == key.org_id))
        if own_slug == ref.lower():
            return
    raise NotFound


def provide_api_caller(request: Request) -> ApiCaller:
    return request.state.api_caller
