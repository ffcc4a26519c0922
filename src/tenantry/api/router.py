"""/api/v1: the router every API controller joins. Bearer keys, not cookies: no session, no CSRF
(app.py excludes /api/ from both); errors as problem documents; Idempotency-Key on POST."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from tenantry.api.audit import EventsController
from tenantry.api.auth import provide_api_caller, require_api_key
from tenantry.api.controllers import CheckController, MetaController
from tenantry.api.idempotency import IdempotencyMiddleware
from tenantry.api.orgs import OrgsController
from tenantry.api.problems import API_EXCEPTION_HANDLERS
from tenantry.api.users import UsersController

API_PREFIX = "/api/v1"
CONTROLLERS = [MetaController, CheckController, OrgsController, UsersController, EventsController]


def create_api_router() -> Router:
    return Router(
        path=API_PREFIX,
        route_handlers=CONTROLLERS,
        guards=[require_api_key],
        dependencies={"api": Provide(provide_api_caller, sync_to_thread=False)},
        exception_handlers=API_EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(IdempotencyMiddleware)],
        opt={"public": True},  # no session: the key is checked by require_api_key
        security=[{"bearer": []}],
    )
