"""The transaction guarantees the services rely on, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor, record_event
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_organization
from tests.integration.conftest import count, make_user


async def test_rolling_back_undoes_what_a_savepoint_wrote(sessionmaker, world):
    """create_organization inserts inside a savepoint; the request's rollback must still undo it."""
    async with sessionmaker() as db:
        await db.scalar(select(func.count()).select_from(Organization))  # a read first, as the guard does
        user = await make_user(db, "Nina New", "nina@x.example")
        await create_organization(
            db, creator=user, name="Ghost", slug="ghost", brand_color="", logo=None, actor=Actor.system()
        )
        await db.rollback()
    async with sessionmaker() as db:
        assert await count(db, Organization, Organization.slug == "ghost") == 0
        assert await count(db, AuditEvent, AuditEvent.action == "org.created", AuditEvent.target_label == "ghost") == 0


async def test_two_requests_that_read_then_write_both_succeed(sessionmaker, world):
    """Two admins saving at the same moment: the second waits its turn, neither fails."""

    async def save(label: str, pause: float) -> None:
        async with sessionmaker() as db:
            await db.scalar(select(func.count()).select_from(AuditEvent))
            await asyncio.sleep(pause)
            record_event(db, actor=Actor.system(), action="test.saved", org_id=world.acme.id)
            await db.flush()
            await asyncio.sleep(0.1)  # hold the write a moment, as a slow request would
            await db.commit()

    await asyncio.gather(save("first", 0), save("second", 0.02))
    async with sessionmaker() as db:
        assert await count(db, AuditEvent, AuditEvent.action == "test.saved") == 2


async def test_readers_are_not_blocked_by_a_writer(sessionmaker, world):
    async with sessionmaker() as writer:
        record_event(writer, actor=Actor.system(), action="test.pending", org_id=world.acme.id)
        await writer.flush()  # holds the write lock on SQLite
        async with sessionmaker() as reader:
            found = await asyncio.wait_for(reader.scalar(select(func.count()).select_from(Organization)), 2)
            assert found == 2
        await writer.rollback()
