"""Permission checks and the members page, a tiny org vs. an org of 10k members in 500 groups.

Seeds a throw-away database with --memberships memberships (1M by default; users belong to
several orgs), among them one org of --big-org members in --groups groups (each member in one to
three of them; each group gives one or two of 20 custom roles), and a tiny org of 25 members in 3
groups. Prints, for both orgs: permission checks per second through the resolver (allowed and
denied), and the members page's median latency; then the ratios. Asserts nothing.

    .venv/bin/python bench/access.py                      # SQLite
    .venv/bin/python bench/access.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/access.py --memberships 200000  # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid

from sqlalchemy import select

from common import (
    add_memberships,
    add_org,
    analyze,
    default_url,
    fresh_database,
    insert_in_batches,
    settings_for,
    stamps,
    template_role_ids,
    time_pages,
    user_rows,
)
from tenantry.access.models import Role, RolePermission
from tenantry.access.services import effective_permissions
from tenantry.accounts.models import User
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization

PERMISSIONS = ["projects:read", "projects:write", "reports:read", "reports:export", "analytics:read", "api:access"]


async def seed_grouped_org(url: str, *, slug: str, users: list[dict], groups: int, rng: random.Random) -> None:
    """An org whose members are in groups that give custom roles."""
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        templates = await template_role_ids(db)
        org_id = await add_org(db, slug)
        await insert_in_batches(db, User, users)
        membership_ids = await add_memberships(db, org_id, users, lambda i: templates["owner" if i == 0 else "member"])
        roles = [
            {
                "id": uuid.uuid4(),
                "org_id": org_id,
                "key": f"role-{n}",
                "name": f"Role {n}",
                "description": "",
                "is_builtin": False,
                **stamps(),
            }
            for n in range(20)
        ]
        await insert_in_batches(db, Role, roles)
        await insert_in_batches(
            db,
            RolePermission,
            ({"role_id": role["id"], "permission": p} for role in roles for p in rng.sample(PERMISSIONS, 2)),
        )
        group_rows = [
            {
                "id": uuid.uuid4(),
                "org_id": org_id,
                "name": f"Team {n}",
                "name_key": f"team {n}",
                "description": "",
                **stamps(),
            }
            for n in range(groups)
        ]
        await insert_in_batches(db, Group, group_rows)
        await insert_in_batches(
            db,
            GroupRole,
            (
                {"group_id": g["id"], "role_id": r["id"]}
                for g in group_rows
                for r in rng.sample(roles, rng.randint(1, 2))
            ),
        )
        pairs = {(rng.randrange(groups), m) for m in membership_ids for _ in range(rng.randint(1, 3))}
        await insert_in_batches(
            db,
            GroupMember,
            (
                {"group_id": group_rows[g]["id"], "membership_id": m, "added_at": stamps()["created_at"]}
                for g, m in pairs
            ),
        )
        await db.commit()
    await engine.dispose()


async def seed_filler(url: str, *, memberships: int, users: int, org_size: int) -> int:
    """Other orgs, drawing members from one pool of users so that people belong to several orgs."""
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        templates = await template_role_ids(db)
        pool = user_rows(range(3_000_000, 3_000_000 + users))
        await insert_in_batches(db, User, pool)
        orgs, remaining = 0, memberships
        while remaining > 0:
            size = min(org_size, remaining)
            org_id = await add_org(db, f"filler-{orgs}")
            start = (orgs * org_size) % len(pool)
            members = [pool[(start + i) % len(pool)] for i in range(size)]
            await add_memberships(db, org_id, members, lambda i: templates["owner" if i == 0 else "member"])
            remaining -= size
            orgs += 1
            if orgs % 50 == 0:
                await db.commit()
        await db.commit()
    await engine.dispose()
    return orgs


async def checks_per_second(url: str, slug: str, seconds: float, rng: random.Random) -> tuple[float, float]:
    """How many `may this user do X here` answers the resolver gives per second, on one connection,
    for random members: for a permission they hold (allowed) and one nobody holds (denied)."""
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        org_id = await db.scalar(select(Organization.id).where(Organization.slug == slug))
        users = list(await db.scalars(select(Membership.user_id).where(Membership.org_id == org_id)))
        rates = []
        for permission in ("members:read", "billing:manage"):  # every member holds the first; nobody the second
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                access = await effective_permissions(db, user_id=rng.choice(users), org_id=org_id)
                access.has(permission)
                done += 1
            rates.append(done / (time.perf_counter() - started))
    await engine.dispose()
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--memberships", type=int, default=1_000_000)
    parser.add_argument("--big-org", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="per check measurement")
    parser.add_argument("--requests", type=int, default=60, help="per page measurement")
    args = parser.parse_args()
    url = args.database_url or default_url()
    rng = random.Random(7)

    print(f"database: {url.split('@')[-1]}")
    started = time.perf_counter()
    fresh_database(url)
    asyncio.run(seed_grouped_org(url, slug="tiny", users=user_rows(range(25)), groups=3, rng=rng))
    asyncio.run(
        seed_grouped_org(
            url, slug="big", users=user_rows(range(1_000_000, 1_000_000 + args.big_org)), groups=args.groups, rng=rng
        )
    )
    filler = args.memberships - args.big_org - 25
    orgs = asyncio.run(seed_filler(url, memberships=filler, users=max(1000, filler // 5), org_size=1000))
    analyze(url)
    print(f"seeded {args.memberships:,} memberships in {orgs + 2:,} orgs ({time.perf_counter() - started:.0f}s)")

    results = {}
    for slug in ("tiny", "big"):
        allowed, denied = asyncio.run(checks_per_second(url, slug, args.seconds, rng))
        page = time_pages(url, slug, {"members": f"/o/{slug}/members"}, args.requests)["members"]
        results[slug] = (allowed, denied, page)

    print(f"\n{'org':<36}{'checks/s allowed':>18}{'checks/s denied':>17}{'members page ms':>17}{'statements':>12}")
    labels = {"tiny": "25 members, 3 groups", "big": f"{args.big_org:,} members, {args.groups} groups"}
    for slug, (allowed, denied, (ms, count)) in results.items():
        print(f"{labels[slug]:<36}{allowed:>18,.0f}{denied:>17,.0f}{ms:>17.1f}{count:>12}")
    tiny, big = results["tiny"], results["big"]
    print(
        f"\nbig / tiny: permission checks take {tiny[0] / big[0]:.2f}x (allowed) and {tiny[1] / big[1]:.2f}x "
        f"(denied) as long; the members page {big[2][0] / tiny[2][0]:.2f}x. Aim: within 1.5x."
    )


if __name__ == "__main__":
    main()
