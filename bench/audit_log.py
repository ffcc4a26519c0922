"""The activity page and its export: a small org's log beside a 200k-event org in a 1M-event table.

Seeds a throw-away database (SQLite by default, or --database-url for PostgreSQL): a small org of
500 events and a big org of --big-org events among --events in all. Measures the first page and a
filtered page (one action) of each org's activity, and the export's throughput in events per
second. Prints medians and ratios; asserts nothing.

    .venv/bin/python bench/audit_log.py
    .venv/bin/python bench/audit_log.py --events 200000 --big-org 40000   # quicker
    .venv/bin/python bench/audit_log.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import time
import uuid

import uuid_utils
from litestar.testing import TestClient
from sqlalchemy import select

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
from tenantry.accounts import sessions
from tenantry.accounts.models import User
from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tenantry.runtime import runtime_of

ACTIONS = ["group.created", "membership.roles_changed", "invitation.created", "role.updated", "org.renamed"]


def event_rows(org_id: uuid.UUID, count: int, start: datetime.datetime):
    for i in range(count):
        yield {
            "id": uuid.UUID(str(uuid_utils.uuid7())),
            "occurred_at": start + datetime.timedelta(seconds=i),
            "action": ACTIONS[i % len(ACTIONS)],
            "org_id": org_id,
            "actor_label": f"User {i % 997} <u{i % 997}@bench.example>",
            "target_type": "group",
            "target_id": str(i),
            "target_label": f"Team {i}",
            "after": {"name": f"Team {i}"},
            "ip": "10.0.0.1",
            "user_agent": "bench",
            "request_id": uuid.uuid4().hex,
        }


async def seed(url: str, *, events: int, big: int) -> None:
    engine = create_engine(settings_for(url))
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    async with create_sessionmaker(engine)() as db:
        roles = await template_role_ids(db)
        for slug, count in (("small", 500), ("big", big)):
            org_id = await add_org(db, slug)
            owner = user_rows([hash(slug) % 1_000_000])
            await insert_in_batches(db, User, owner)
            await add_memberships(db, org_id, owner, lambda _: roles["owner"])
            await insert_in_batches(db, AuditEvent, event_rows(org_id, count, start))
            await db.commit()
        remaining, n = events - big - 500, 0
        while remaining > 0:
            size = min(20_000, remaining)
            await insert_in_batches(db, AuditEvent, event_rows(await add_org(db, f"org-{n}"), size, start))
            await db.commit()
            remaining -= size
            n += 1
    await engine.dispose()


def export_rate(url: str, slug: str) -> tuple[float, int]:
    """Events per second of the JSON Lines export, over the whole org's log."""
    app = create_app(settings_for(url))
    with TestClient(app) as client:
        runtime = runtime_of(app)

        async def open_session() -> str:
            async with runtime.sessionmaker() as db:
                org_id = await db.scalar(select(Organization.id).where(Organization.slug == slug))
                user = await db.get(
                    User, await db.scalar(select(Membership.user_id).where(Membership.org_id == org_id))
                )
                new = sessions.create_session(db, user=user, settings=runtime.settings, ip="127.0.0.1", user_agent="b")
                await db.commit()
            return new.token

        client.cookies.set(sessions.SESSION_COOKIE, client.blocking_portal.call(open_session))
        started = time.perf_counter()
        lines = 0
        with client.stream("GET", f"/o/{slug}/activity/export?format=jsonl") as response:
            for chunk in response.iter_text():
                lines += chunk.count("\n")
        return lines / (time.perf_counter() - started), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--big-org", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    url = args.database_url or default_url()
    print(f"database: {url.split('@')[-1]}")
    fresh_database(url)
    started = time.perf_counter()
    asyncio.run(seed(url, events=args.events, big=args.big_org))
    analyze(url)
    print(f"seeded {args.events:,} events ({time.perf_counter() - started:.0f}s)")

    pages = {"first page": "/o/{slug}/activity", "filtered page": "/o/{slug}/activity?action=role.updated"}
    results = {
        slug: time_pages(url, slug, {k: v.format(slug=slug) for k, v in pages.items()}, args.requests)
        for slug in ("small", "big")
    }
    print(f"\n{'page':<16}{'small org ms':>14}{'big org ms':>12}{'ratio':>8}{'statements':>12}")
    for name in pages:
        (small_ms, small_n), (big_ms, big_n) = results["small"][name], results["big"][name]
        print(f"{name:<16}{small_ms:>14.1f}{big_ms:>12.1f}{big_ms / small_ms:>8.2f}{f'{small_n} / {big_n}':>12}")
    small_rate, small_lines = export_rate(url, "small")
    big_rate, big_lines = export_rate(url, "big")
    print(
        f"\nexport (JSON Lines): small org {small_lines:,} events at {small_rate:,.0f}/s; "
        f"big org {big_lines:,} events at {big_rate:,.0f}/s (ratio {big_rate / small_rate:.2f})"
    )


if __name__ == "__main__":
    main()
