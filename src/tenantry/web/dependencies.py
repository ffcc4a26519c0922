"""Dependencies every controller may ask for by name."""

from __future__ import annotations

from litestar import Request
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException

from tenantry.access.catalog import Catalog
from tenantry.accounts.models import User, UserSession
from tenantry.accounts.passwords import Passwords
from tenantry.accounts.services import actor_label
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.ratelimit import RateLimiter
from tenantry.lib.request_id import request_id
from tenantry.runtime import runtime_of
from tenantry.support.web import impersonation_of


def actor_for(request: Request) -> Actor:
    user: User | None = request.scope.get("user")
    ip = request.client.host if request.client else ""
    user_agent = request.headers.get("user-agent", "")
    live = impersonation_of(request)
    if live is not None:  # the customer acts, and the staff member behind them is on record
        return live.actor(ip=ip, user_agent=user_agent, request_id=request_id(request.scope))
    return Actor(
        user_id=user.id if user else None,
        label=actor_label(user) if user else "",
        ip=ip,
        user_agent=user_agent,
        request_id=request_id(request.scope),
    )


def provide_user(request: Request) -> User:
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    return user


def provide_user_session(request: Request) -> UserSession:
    session = request.scope.get("auth")
    if session is None:
        raise NotAuthorizedException()
    return session


def provide_settings(request: Request) -> Settings:
    return runtime_of(request.app).settings


def provide_passwords(request: Request) -> Passwords:
    return runtime_of(request.app).passwords


def provide_limiter(request: Request) -> RateLimiter:
    return runtime_of(request.app).limiter


def provide_catalog(request: Request) -> Catalog:
    return runtime_of(request.app).catalog


DEPENDENCIES = {
    "actor": Provide(actor_for, sync_to_thread=False),
    "user": Provide(provide_user, sync_to_thread=False),
    "user_session": Provide(provide_user_session, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "passwords": Provide(provide_passwords, sync_to_thread=False),
    "limiter": Provide(provide_limiter, sync_to_thread=False),
    "catalog": Provide(provide_catalog, sync_to_thread=False),
}
