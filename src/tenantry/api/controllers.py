"""The API's first routes: who am I (the trivial one), and the permission check."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.catalog import Catalog
from tenantry.api import checks
from tenantry.api.auth import SCOPE_OPT, ApiCaller
from tenantry.api.models import Scope
from tenantry.api.schemas import BatchCheckRequest, BatchCheckResult, CheckRequest, CheckResult, WhoAmI
from tenantry.config import Settings


class MetaController(Controller):
    path = "/"
    tags = ["meta"]

    @get("/whoami", opt={SCOPE_OPT: None}, summary="The key making this request")
    async def whoami(self, api: ApiCaller) -> WhoAmI:
        key = api.key
        return WhoAmI(
            key_id=key.id,
            name=key.name,
            kind="app" if key.org_id is None else "org",
            org_id=key.org_id,
            scopes=list(key.scopes),
        )


class CheckController(Controller):
    path = "/check"
    tags = ["check"]

    @post("/", opt={SCOPE_OPT: Scope.CHECK}, status_code=200, summary="May this user do this in this org?")
    async def check(
        self, db_session: AsyncSession, settings: Settings, catalog: Catalog, api: ApiCaller, data: CheckRequest
    ) -> CheckResult:
        """`allowed` and the roles it comes from, directly or through groups, as the portal itself
        decides. An org this key can't reach (or that doesn't exist): 404."""
        return await checks.check(db_session, settings=settings, catalog=catalog, caller=api, question=data)

    @post("/batch", opt={SCOPE_OPT: Scope.CHECK}, status_code=200, summary="Many checks in one call")
    async def batch(
        self, db_session: AsyncSession, settings: Settings, catalog: Catalog, api: ApiCaller, data: BatchCheckRequest
    ) -> BatchCheckResult:
        """Up to 100 checks; an org this key can't reach answers `no_such_org` in its place."""
        results = [
            await checks.check(
                db_session, settings=settings, catalog=catalog, caller=api, question=item, missing_org_raises=False
            )
            for item in data.checks
        ]
        return BatchCheckResult(results=results)
