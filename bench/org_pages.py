"""Org home and members page: latency and SQL statements, one-page org vs. a 10k-member org.

Seeds a throw-away database (SQLite by default, or --database-url for PostgreSQL), measures an
org of 25 members (one full page), grows the database to --memberships memberships with one org of
--big-org members, then measures both orgs again. Prints medians and ratios; asserts nothing.

    .venv/bin/python bench/org_pages.py
    .venv/bin/python bench/org_pages.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import (
    add_memberships,
    add_org,
    analyze,
    default_url,
    fresh_database,
    insert_in_batches,
    settings_for,
    template_role_ids,
    time_pages,
    user_rows,
)
from tenantry.accounts.models import User
from tenantry.db.engine import create_engine, create_sessionmaker


async def seed_org(url: str, *, slug: str, members: int, first_user: int) -> None:
    """An org of `members` new users; the first one owns it."""
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        roles = await template_role_ids(db)
        org_id = await add_org(db, slug)
        users = user_rows(range(first_user, first_user + members))
        await insert_in_batches(db, User, users)
        await add_memberships(db, org_id, users, lambda i: roles["owner" if i == 0 else "member"])
        await db.commit()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--memberships", type=int, default=100_000)
    parser.add_argument("--big-org", type=int, default=10_000, help="members in the large org")
    parser.add_argument("--org-size", type=int, default=200, help="members of each other org")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    url = args.database_url or default_url()
    pages = {"org home": "/o/{slug}", "members page": "/o/{slug}/members"}

    def measure(slug: str) -> dict[str, tuple[float, int]]:
        return time_pages(url, slug, {k: v.format(slug=slug) for k, v in pages.items()}, args.requests)

    print(f"database: {url.split('@')[-1]}")
    fresh_database(url)
    asyncio.run(seed_org(url, slug="small", members=25, first_user=0))  # one full page of members
    before = measure("small")

    started = time.perf_counter()
    asyncio.run(seed_org(url, slug="big", members=args.big_org, first_user=1_000_000))
    remaining, n = args.memberships - args.big_org - 25, 0
    while remaining > 0:
        size = min(args.org_size, remaining)
        asyncio.run(seed_org(url, slug=f"org-{n}", members=size, first_user=2_000_000 + n * args.org_size))
        remaining -= size
        n += 1
    analyze(url)
    print(f"seeded {args.memberships:,} memberships in {n + 2:,} orgs ({time.perf_counter() - started:.0f}s)")
    small_after = measure("small")
    big = measure("big")

    print(f"\n{'page':<14}{'org':<28}{'median ms':>10}{'statements':>12}")
    for label, result in (
        ("25 members, empty db", before),
        ("25 members, full db", small_after),
        (f"{args.big_org:,} members, full db", big),
    ):
        for page, (ms, count) in result.items():
            print(f"{page:<14}{label:<28}{ms:>10.1f}{count:>12}")
    print()
    for page in pages:
        same = "same" if big[page][1] == before[page][1] else "DIFFERENT"
        print(
            f"{page}: big org / small org latency = {big[page][0] / small_after[page][0]:.2f}x; "
            f"statements {same} ({before[page][1]} vs {big[page][1]})"
        )


if __name__ == "__main__":
    main()
