"""`POST /api/v1/check` asked by ids takes a shorter path (no lookup of the user before the
resolver): it must answer exactly as when asked by email and slug, on every path."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from tenantry.members.models import Membership, MembershipStatus
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count_queries


async def test_asked_by_ids_or_by_email_and_slug_the_answer_is_the_same(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, scopes=("check",))

    async def ask(user: str, org: str, permission: str) -> dict:
        response = await client.post(
            "/api/v1/check", json={"user": user, "org": org, "permission": permission}, headers=bearer(token)
        )
        assert response.status_code == 200
        return response.json()

    cases = [
        (world.adam, "projects:write", "granted"),  # directly and through Engineering
        (world.mia, "projects:write", "not_granted"),
        (world.gus, "members:read", "not_a_member"),  # in Globex only
        (world.nora, "members:read", "not_a_member"),  # in no org
    ]

    async def same_both_ways(user, permission: str, reason: str) -> None:
        by_email = await ask(user.email, "acme", permission)
        by_ids = await ask(str(user.id), str(world.acme.id), permission)
        assert by_email["reason"] == reason, (user.email, by_email)
        assert by_ids == by_email, user.email

    for user, permission, reason in cases:
        await same_both_ways(user, permission, reason)
    await db.execute(
        update(Membership)
        .where(Membership.id == world.memberships["mia"].id)
        .values(status=MembershipStatus.INACTIVE.value)
    )
    await db.commit()
    await same_both_ways(world.mia, "members:read", "not_a_member")  # deactivated: roles kept, access cut
    nobody = await ask(str(uuid.uuid4()), "acme", "members:read")
    assert nobody == {"allowed": False, "sources": [], "reason": "no_such_user"}


async def test_a_member_asked_by_id_costs_one_statement_less(client, world, sessionmaker, app_engine):
    token = await make_key(sessionmaker, scopes=("check",))
    ask = lambda user: client.post(  # noqa: E731
        "/api/v1/check", json={"user": user, "org": "acme", "permission": "projects:write"}, headers=bearer(token)
    )
    await ask(world.adam.email)  # the key's first use is written down once
    with count_queries(app_engine) as by_email:
        assert (await ask(world.adam.email)).json()["allowed"] is True
    with count_queries(app_engine) as by_id:
        assert (await ask(str(world.adam.id))).json()["allowed"] is True
    assert len(by_id.statements) == len(by_email.statements) - 1
