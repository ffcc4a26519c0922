"""create_app(): the one place where routes, plugins, stores and middleware are wired."""

from __future__ import annotations

import hashlib
import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.static_files import create_static_files_router
from sqlalchemy.exc import OperationalError, ProgrammingError

from tenantry.access.catalog import load_catalog
from tenantry.access.controllers import PermissionsController, RolesController
from tenantry.access.services import sync_role_templates
from tenantry.accounts.controllers import AccountController, AccountMailController, AuthController
from tenantry.accounts.middleware import SessionAuthMiddleware
from tenantry.accounts.passwords import Passwords
from tenantry.api.auth import SCOPE_OPT
from tenantry.api.docs import api_docs
from tenantry.api.openapi import document_problems
from tenantry.api.portal_controllers import OrgApiKeysController, StaffApiKeysController
from tenantry.api.router import API_PREFIX, create_api_router
from tenantry.audit.controllers import AccountActivityController, OrgActivityController, StaffActivityController
from tenantry.config import ConfigError, Settings, get_settings
from tenantry.db.engine import create_alchemy_config, create_engine, create_sessionmaker
from tenantry.groups.controllers import GroupsController
from tenantry.invitations.controllers import InvitationsController, JoinController
from tenantry.lib.ratelimit import RateLimiter
from tenantry.lib.security_headers import security_headers_hook
from tenantry.lib.words import Words, install_words
from tenantry.mail.worker import MailWorkerHandle
from tenantry.members.controllers import MembersController
from tenantry.metadata.controllers import OrgMetadataController, StaffOrgsController, StaffUsersController
from tenantry.orgs.context import PERMISSION_OPT, provide_org_context, require_org_access
from tenantry.orgs.controllers import DeletedOrgsController, OrgController, OrgsController
from tenantry.orgs.middleware import SwitcherMiddleware
from tenantry.plans.controllers import PlanController, StaffPlanController
from tenantry.runtime import Runtime
from tenantry.support.console_controllers import StaffOrgController, StaffUserController, staff_home
from tenantry.support.controllers import ImpersonationController, OrgSupportController, end_impersonation
from tenantry.support.web import ImpersonationTrail, refuse_changes_while_impersonating
from tenantry.web.dependencies import DEPENDENCIES
from tenantry.web.errors import EXCEPTION_HANDLERS
from tenantry.web.guards import require_an_org, require_user
from tenantry.web.health import healthz, readyz
from tenantry.web.media import accent_css, logo
from tenantry.web.templating import STATIC_DIR, create_template_config

logger = logging.getLogger("tenantry")

ORG_PREFIX = "/o/{slug:str}"
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# Paths that never need to know who is calling.
ANONYMOUS_PATHS = ["^/static/", "^/media/", "^/theme/", "^/healthz$", "^/readyz$"]
# The JSON API authenticates each request by its bearer key: no session cookie, no flash, no CSRF.
API_PATHS = ["^/api/v1/"]


def _derived_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    settings.check()
    install_words(Words.from_settings(settings))
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    alchemy = create_alchemy_config(engine)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        alchemy=alchemy,
        passwords=Passwords(settings),
        limiter=RateLimiter(sessionmaker),
        catalog=load_catalog(settings.permissions_file),
    )
    runtime.settings.check_default_role({template.key for template in runtime.catalog.role_templates})
    template_config = create_template_config(Words.from_settings(settings))

    org_router = Router(
        path=ORG_PREFIX,
        route_handlers=[
            OrgController,
            OrgMetadataController,
            MembersController,
            InvitationsController,
            OrgActivityController,
            GroupsController,
            RolesController,
            PermissionsController,
            PlanController,
            OrgSupportController,
            OrgApiKeysController,
        ],
        guards=[require_org_access],
        dependencies={"org_context": Provide(provide_org_context, sync_to_thread=False)},
        include_in_schema=False,
    )
    portal = Router(
        path="/",
        route_handlers=[
            AuthController,
            AccountController,
            AccountMailController,
            OrgsController,
            JoinController,
            AccountActivityController,
            StaffActivityController,
            StaffPlanController,
            StaffOrgsController,
            StaffUsersController,
            DeletedOrgsController,
            ImpersonationController,
            end_impersonation,
            staff_home,
            StaffOrgController,
            StaffUserController,
            StaffApiKeysController,
            org_router,
            logo,
            accent_css,
        ],
        # The portal's dependencies stay on the portal: an API body field named like one of them
        # ("user") would otherwise be taken for a failed dependency (a 500, not a 422).
        dependencies=DEPENDENCIES,
        include_in_schema=False,
    )
    static_files = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        cache_control=CacheControlHeader(max_age=31536000, public=True),
    )
    # Flash messages ride in a small encrypted cookie (Litestar's client-side session). Sign-in
    # sessions are something else: rows in the database (accounts/sessions.py).
    flash_cookie = CookieBackendConfig(
        secret=_derived_key(settings.effective_secret_key, "flash"),
        key="tenantry_flash",
        httponly=True,
        secure=settings.serves_https,
        samesite="lax",
        max_age=3600,
        exclude=ANONYMOUS_PATHS + API_PATHS,
    )

    async def sync_templates() -> None:
        try:
            async with sessionmaker() as db:
                await sync_role_templates(db, runtime.catalog)
                await db.commit()
        except (OperationalError, ProgrammingError) as exc:
            msg = "The database has no tables yet (or is out of date). Run `tenantry migrate` first."
            raise ConfigError(msg) from exc

    mail_worker = MailWorkerHandle()

    async def start_mail_worker() -> None:
        if settings.run_worker:
            mail_worker.start(sessionmaker, settings)

    app = Litestar(
        route_handlers=[portal, create_api_router(), api_docs, healthz, readyz, static_files],
        plugins=[
            SQLAlchemyPlugin(config=alchemy),
            FlashPlugin(config=FlashConfig(template_config=template_config)),
        ],
        template_config=template_config,
        middleware=[
            flash_cookie.middleware,
            DefineMiddleware(SessionAuthMiddleware, exclude=ANONYMOUS_PATHS + API_PATHS),
            SwitcherMiddleware(),
            DefineMiddleware(ImpersonationTrail),
        ],
        csrf_config=CSRFConfig(
            secret=settings.effective_secret_key,
            cookie_name="tenantry_csrf",
            cookie_secure=settings.serves_https,
            cookie_httponly=True,
            cookie_samesite="lax",
            header_name="x-csrftoken",
            exclude=API_PATHS,
        ),
        guards=[require_user, refuse_changes_while_impersonating, require_an_org],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[security_headers_hook(hsts=settings.serves_https)],
        on_startup=[sync_templates, start_mail_worker],
        on_shutdown=[mail_worker.stop],
        state=State({"runtime": runtime}),
        # Large enough that an oversized logo gets a message next to the field, not an error page.
        request_max_body_size=MAX_REQUEST_BYTES,
        openapi_config=OpenAPIConfig(
            title="Tenantry management API",
            use_handler_docstrings=True,  # each route's docstring is its description
            version="1.0.0",
            description="Check permissions and provision orgs, members and invitations. "
            "Send an API key as `Authorization: Bearer <key>`; errors are RFC 9457 problem documents.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="An API key")}
            ),
            # Only the JSON document: the stock docs pages load scripts from CDNs.
            render_plugins=[JsonRenderPlugin(path="/openapi.json")],
            openapi_router=Router(path="/api/schema", route_handlers=[], opt={"public": True}),
        ),
        debug=False,
    )
    _check_org_routes_declare_permission(app)
    _check_api_routes_declare_scope(app)
    document_problems(app)
    return app


def _check_api_routes_declare_scope(app: Litestar) -> None:
    """An API handler that forgot to say which key scope it needs must not start (None: any key)."""
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        for handler in getattr(route, "route_handlers", []):
            if set(handler.http_methods) != {"OPTIONS"} and SCOPE_OPT not in handler.opt:
                msg = f"{handler.handler_name} at {route.path} must declare opt={{'scope': ...}}"
                raise ConfigError(msg)


def _check_org_routes_declare_permission(app: Litestar) -> None:
    """An org-scoped handler that forgot to say which permission it needs must not start."""
    for route in app.routes:
        if not route.path.startswith("/o/{slug"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if set(handler.http_methods) == {"OPTIONS"}:  # generated by Litestar, answers CORS preflight
                continue
            if PERMISSION_OPT not in handler.opt:
                msg = f"{handler.handler_name} at {route.path} must declare opt={{'permission': ...}}"
                raise ConfigError(msg)
