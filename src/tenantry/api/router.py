"""/api/v1: the router every API controller joins. Bearer keys, not cookies: no session, no CSRF
(app.py excludes /api/ from both); errors as problem documents; Idempotency-Key on POST."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from tenantry.api.access import PermissionsController, RolesController
from tenantry.api.audit import EventsController
from tenantry.api.auth import provide_api_caller, require_api_key
from tenantry.api.controllers import CheckController, MetaController
from tenantry.api.groups import GroupsController
from tenantry.api.idempotency import IdempotencyMiddleware
from tenantry.api.invitations import InvitationsController
from tenantry.api.members import MembershipsController
from tenantry.api.orgs import OrgsController
from tenantry.api.problems import API_EXCEPTION_HANDLERS
from tenantry.api.users import UsersController
from tenantry.web.dependencies import DEPENDENCIES

API_PREFIX = "/api/v1"
CONTROLLERS = [
    MetaController,
    CheckController,
    OrgsController,
    UsersController,
    PermissionsController,
    RolesController,
    GroupsController,
    MembershipsController,
    InvitationsController,
    EventsController,
]


def create_api_router() -> Router:
    return Router(
        path=API_PREFIX,
        route_handlers=CONTROLLERS,
        guards=[require_api_key],
        # The portal's dependencies minus the signed-in person's (user, user_session, actor): here
        # the caller is a key (`api`), and a body field may be named "user".
        dependencies={
            "api": Provide(provide_api_caller, sync_to_thread=False),
            **{name: DEPENDENCIES[name] for name in ("settings", "passwords", "limiter", "catalog")},
        },
        exception_handlers=API_EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(IdempotencyMiddleware)],
        opt={"public": True},  # no session: the key is checked by require_api_key
        security=[{"bearer": []}],
    )
