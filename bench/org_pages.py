"""Org home and members page: latency and SQL statements, small org vs. a 10k-member org.

Seeds a throw-away database (SQLite by default, or --database-url for PostgreSQL), measures a
tiny org, grows the database to --memberships memberships with one org of --big-org members,
then measures both orgs again. Prints medians and ratios; asserts nothing (a benchmark, not a test).

    .venv/bin/python bench/org_pages.py
    .venv/bin/python bench/org_pages.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid

from litestar.testing import TestClient
from sqlalchemy import event, insert, select, text

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


def settings_for(url: str) -> Settings:
    return Settings(env="test", secret_key="b" * 40, database_url=url, argon2_memory_kib=19456, argon2_time_cost=2)


async def reset(url: str) -> None:
    engine = create_engine(settings_for(url))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()


async def seed_org(url: str, *, slug: str, members: int, user_offset: int) -> None:
    """An org with `members` members (the first one owns it), inserted in bulk."""
    engine = create_engine(settings_for(url))
    now = utcnow()
    async with create_sessionmaker(engine)() as db:
        roles = {key: rid for key, rid in await db.execute(select(Role.key, Role.id).where(Role.org_id.is_(None)))}
        org_id = uuid.uuid4()
        await db.execute(
            insert(Organization),
            [{"id": org_id, "name": slug.title(), "slug": slug, "created_at": now, "updated_at": now}],
        )
        for start in range(0, members, BATCH):
            chunk = range(start, min(start + BATCH, members))
            users = [
                {
                    "id": uuid.uuid4(),
                    "email": f"u{user_offset + n}@bench.example",
                    "name": f"User {user_offset + n:07d}",
                    "password_hash": None,
                    "is_staff": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in chunk
            ]
            await db.execute(insert(User), users)
            memberships = [
                {
                    "id": uuid.uuid4(),
                    "org_id": org_id,
                    "user_id": u["id"],
                    "status": "active",
                    "sort_name": sort_name_of(u["name"]),
                    "created_at": now,
                    "updated_at": now,
                }
                for u in users
            ]
            await db.execute(insert(Membership), memberships)
            await db.execute(
                insert(MembershipRole),
                [
                    {"membership_id": m["id"], "role_id": roles["owner" if start == 0 and i == 0 else "member"]}
                    for i, m in enumerate(memberships)
                ],
            )
        await db.commit()
    await engine.dispose()


async def analyze(url: str) -> None:
    """What autovacuum and SQLite's optimizer would know in production after a bulk load."""
    engine = create_engine(settings_for(url))
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    await engine.dispose()


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


def measure(url: str, slug: str, requests: int) -> dict[str, tuple[float, int]]:
    """Median latency (ms) and statements per request, for the org home and the members page."""
    app = create_app(settings_for(url))
    user = asyncio.run(first_member_of(url, slug))
    results = {}
    with TestClient(app) as client:
        runtime = runtime_of(app)
        statements: list[str] = []
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

        async def open_session() -> str:
            async with runtime.sessionmaker() as db:
                new = sessions.create_session(
                    db, user=user, settings=runtime.settings, ip="127.0.0.1", user_agent="bench"
                )
                await db.commit()
            return new.token

        client.cookies.set(sessions.SESSION_COOKIE, client.blocking_portal.call(open_session))
        for name, path in (("org home", f"/o/{slug}"), ("members page", f"/o/{slug}/members")):
            for _ in range(3):
                assert client.get(path).status_code == 200  # warm-up
            timings, counts = [], []
            for _ in range(requests):
                statements.clear()
                started = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                counts.append(len(statements))
                assert response.status_code == 200
            results[name] = (statistics.median(timings), max(counts))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--memberships", type=int, default=100_000)
    parser.add_argument("--big-org", type=int, default=10_000, help="members in the large org")
    parser.add_argument("--org-size", type=int, default=200, help="members of each other org")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"

    print(f"database: {url.split('@')[-1]}")
    asyncio.run(reset(url))
    upgrade(settings_for(url))
    # 25 members: one full page, so both orgs render the same amount of HTML.
    asyncio.run(seed_org(url, slug="tiny", members=25, user_offset=0))
    before = measure(url, "tiny", args.requests)

    started = time.perf_counter()
    asyncio.run(seed_org(url, slug="big", members=args.big_org, user_offset=1_000_000))
    remaining, n = args.memberships - args.big_org - 25, 0
    while remaining > 0:
        size = min(args.org_size, remaining)
        asyncio.run(seed_org(url, slug=f"org-{n}", members=size, user_offset=2_000_000 + n * args.org_size))
        remaining -= size
        n += 1
    asyncio.run(analyze(url))
    print(f"seeded {args.memberships:,} memberships in {n + 2:,} orgs ({time.perf_counter() - started:.0f}s)")
    tiny_after = measure(url, "tiny", args.requests)
    big = measure(url, "big", args.requests)

    print(f"\n{'page':<14}{'org':<28}{'median ms':>10}{'statements':>12}")
    for label, result in (
        ("25 members, empty db", before),
        ("25 members, full db", tiny_after),
        (f"{args.big_org:,} members, full db", big),
    ):
        for page, (ms, count) in result.items():
            print(f"{page:<14}{label:<28}{ms:>10.1f}{count:>12}")
    print()
    for page in ("org home", "members page"):
        ratio = big[page][0] / tiny_after[page][0]
        same = "same" if big[page][1] == before[page][1] else "DIFFERENT"
        print(
            f"{page}: big org / tiny org latency = {ratio:.2f}x; statements {same} "
            f"({before[page][1]} vs {big[page][1]})"
        )


if __name__ == "__main__":
    main()
