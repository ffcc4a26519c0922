"""Shared fixtures: one database per backend per test worker, migrated once; a clean slate per test.

Integration tests run on SQLite always and on PostgreSQL when TENANTRY_TEST_POSTGRES_URL is set.
When it is set and PostgreSQL can't be reached, the run fails: it never skips silently.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade
from tenantry.db.registry import metadata

POSTGRES_URL = os.environ.get("TENANTRY_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def base_settings(database_url: str, **overrides) -> Settings:
    values = {
        "env": "test",
        "secret_key": SECRET,
        "database_url": database_url,
        # OWASP's minimum: real argon2id, but fast enough for hundreds of sign-ins.
        "argon2_memory_kib": 19 * 1024,
        "argon2_time_cost": 2,
        "argon2_parallelism": 1,
        "base_url": "http://testserver.local",
        "run_worker": False,  # tests deliver mail themselves (deliver_due), when they mean to
        "permissions_file": str(Path(__file__).resolve().parents[1] / "examples" / "permissions.toml"),
        "plans_file": str(Path(__file__).resolve().parent / "plans.toml"),
        **overrides,
    }
    return Settings(**values)


async def _connect_admin() -> asyncpg.Connection:
    """A plain connection to the database in TENANTRY_TEST_POSTGRES_URL; unreachable ends the run."""
    url = make_url(POSTGRES_URL)
    try:
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database or "postgres",
            timeout=10,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.exit(f"TENANTRY_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)


async def _create_postgres_database(worker: str) -> str:
    url = make_url(POSTGRES_URL)
    name = f"tenantry_test_{worker}"
    admin = await _connect_admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def worker_id_safe(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory, worker_id_safe) -> dict[str, str]:
    """One migrated database per backend for this test worker (the migrations are tested too)."""
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'tenantry.db'}"}
    if POSTGRES_URL:
        urls["postgresql"] = asyncio.run(_create_postgres_database(worker_id_safe))
    for url in urls.values():
        upgrade(base_settings(url))
    return urls


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend, database_urls) -> Settings:
    return base_settings(database_urls[backend])


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table: a test starts from nothing but the schema."""
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def engine(settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await wipe(engine)
    yield engine
    await engine.dispose()


def pytest_sessionstart(session):
    """With TENANTRY_TEST_POSTGRES_URL set, an unreachable PostgreSQL fails the run at once."""
    if not POSTGRES_URL or hasattr(session.config, "workerinput"):
        return

    async def ping() -> None:
        await (await _connect_admin()).close()

    asyncio.run(ping())


def pytest_collection_modifyitems(config, items):
    # Browser tests are slow; run them last so quick failures show first.
    e2e = [item for item in items if "e2e" in Path(str(item.fspath)).parts]
    rest = [item for item in items if item not in e2e]
    items[:] = rest + e2e
    for item in e2e:
        item.add_marker(pytest.mark.e2e)
