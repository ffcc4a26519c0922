"""The long-lived objects one app instance shares, created once in create_app()."""

from __future__ import annotations

from dataclasses import dataclass

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from tenantry.access.catalog import Catalog
from tenantry.accounts.passwords import Passwords
from tenantry.config import Settings
from tenantry.lib.ratelimit import RateLimiter


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker
    alchemy: SQLAlchemyAsyncConfig
    passwords: Passwords
    limiter: RateLimiter
    catalog: Catalog


def runtime_of(app: Litestar) -> Runtime:
    return app.state.runtime
