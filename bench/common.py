"""Shared by the benchmarks: a throw-away database, bulk seeding, and timing pages in-process."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable

from litestar.testing import TestClient
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import MembershipRole, Role
from tenantry.accounts import sessions
from tenantry.accounts.models import User
from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.db.migrate import upgrade
from tenantry.db.registry import metadata
from tenantry.lib.clock import utcnow
from tenantry.members.models import Membership
from tenantry.members.services import sort_name_of
from tenantry.orgs.models import Organization
from tenantry.runtime import runtime_of

BATCH = 5000


def default_url() -> str:
    return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"


def settings_for(url: str) -> Settings:
    return Settings(env="test", secret_key="b" * 40, database_url=url, argon2_memory_kib=19456, argon2_time_cost=2)


def fresh_database(url: str) -> None:
    """Drop everything, then migrate: the benchmark starts from the real schema."""

    async def drop() -> None:
        engine = create_engine(settings_for(url))
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await engine.dispose()

    asyncio.run(drop())
    upgrade(settings_for(url))


async def insert_in_batches(db: AsyncSession, model, rows: Iterable[dict]) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            await db.execute(insert(model), batch)
            batch = []
    if batch:
        await db.execute(insert(model), batch)


async def template_role_ids(db: AsyncSession) -> dict[str, uuid.UUID]:
    return {key: rid for key, rid in await db.execute(select(Role.key, Role.id).where(Role.org_id.is_(None)))}


def stamps() -> dict:
    now = utcnow()
    return {"created_at": now, "updated_at": now}


def user_rows(numbers: Iterable[int]) -> list[dict]:
    return [
        {
            "id": uuid.uuid4(),
            "email": f"u{n}@bench.example",
            "name": f"User {n:07d}",
            "password_hash": None,
            "is_staff": False,
            **stamps(),
        }
        for n in numbers
    ]


async def add_org(db: AsyncSession, slug: str) -> uuid.UUID:
    org_id = uuid.uuid4()
    await db.execute(insert(Organization), [{"id": org_id, "name": slug.title(), "slug": slug, **stamps()}])
    return org_id


async def add_memberships(
    db: AsyncSession, org_id: uuid.UUID, users: list[dict], role_for: Callable[[int], uuid.UUID]
) -> list[uuid.UUID]:
    """Members with one direct role each; returns the membership ids in the order of `users`."""
    rows = [
        {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "user_id": u["id"],
            "status": "active",
            "sort_name": sort_name_of(u["name"]),
            **stamps(),
        }
        for u in users
    ]
    await insert_in_batches(db, Membership, rows)
    await insert_in_batches(
        db, MembershipRole, ({"membership_id": r["id"], "role_id": role_for(i)} for i, r in enumerate(rows))
    )
    return [r["id"] for r in rows]


def analyze(url: str) -> None:
    """What autovacuum and SQLite's optimizer would know in production after a bulk load."""

    async def run() -> None:
        engine = create_engine(settings_for(url))
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
        else:
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        await engine.dispose()

    asyncio.run(run())


async def first_member_of(url: str, slug: str) -> User:
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        user = await db.scalar(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .join(Organization)
            .where(Organization.slug == slug)
            .order_by(User.email)
            .limit(1)
        )
    await engine.dispose()
    return user


def time_pages(url: str, slug: str, pages: dict[str, str], requests: int) -> dict[str, tuple[float, int]]:
    """Median latency (ms) and SQL statements per request, for each page, as the org's first member."""
    app = create_app(settings_for(url))
    user = asyncio.run(first_member_of(url, slug))
    results = {}
    runtime = runtime_of(app)
    statements: list[str] = []
    # Listening before the app starts: adding a listener while its mail worker runs a query fails.
    event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with TestClient(app) as client:

        async def open_session() -> str:
            async with runtime.sessionmaker() as db:
                new = sessions.create_session(db, user=user, settings=runtime.settings, ip="127.0.0.1", user_agent="b")
                await db.commit()
            return new.token

        client.cookies.set(sessions.SESSION_COOKIE, client.blocking_portal.call(open_session))
        for name, path in pages.items():
            for _ in range(3):
                assert client.get(path).status_code == 200  # warm-up
            timings, counts = [], []
            for _ in range(requests):
                statements.clear()
                started = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                counts.append(len(statements))
                assert response.status_code == 200, (path, response.status_code)
            results[name] = (statistics.median(timings), max(counts))
    return results
