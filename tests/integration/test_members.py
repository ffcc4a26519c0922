"""The members page: who is in the org, search, pagination, and its cost."""

from __future__ import annotations

import re

from sqlalchemy import insert

from tenantry.access.models import MembershipRole
from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import template_role
from tenantry.accounts.models import User
from tenantry.members.models import Membership
from tenantry.members.services import sort_name_of
from tests.integration.conftest import count_queries, password_hash, post_form, sign_in


async def add_members(sessionmaker, org_id, how_many: int, prefix="Person") -> None:
    """Bulk-insert members with the member role, as fast as the database allows."""
    async with sessionmaker() as db:
        member = await template_role(db, BuiltinRole.MEMBER)
        users = [
            User(
                name=f"{prefix} {n:04d}",
                email=f"{prefix.lower()}{n:04d}@acme.example",
                password_hash=password_hash(),
            )
            for n in range(how_many)
        ]
        db.add_all(users)
        await db.flush()
        memberships = [Membership(org_id=org_id, user_id=user.id, sort_name=sort_name_of(user.name)) for user in users]
        db.add_all(memberships)
        await db.flush()
        if memberships:
            await db.execute(
                insert(MembershipRole),
                [{"membership_id": m.id, "role_id": member.id} for m in memberships],
            )
        await db.commit()


def member_emails(html: str) -> list[str]:
    return re.findall(r'class="cell-person__email">([^<]+)<', html)


def next_link(html: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def prev_link(html: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="prev"', html)
    return match.group(1).replace("&amp;", "&") if match else None


async def test_members_page_lists_name_email_roles_and_joined_date(client, world):
    await sign_in(client, world.mia)
    page = await client.get("/o/acme/members")
    assert page.status_code == 200
    assert member_emails(page.text) == ["adam@acme.example", "mia@acme.example", "olivia@acme.example"]
    assert "3 active members" in page.text
    assert "badge--owner" in page.text and "badge--admin" in page.text
    assert "<time datetime=" in page.text
    assert "gus@globex.example" not in page.text


async def test_search_by_name_or_email_case_insensitive(client, world):
    await sign_in(client, world.mia)
    by_name = await client.get("/o/acme/members", params={"q": "ADAM"})
    assert member_emails(by_name.text) == ["adam@acme.example"]
    by_email = await client.get("/o/acme/members", params={"q": "olivia@"})
    assert member_emails(by_email.text) == ["olivia@acme.example"]
    wildcard = await client.get("/o/acme/members", params={"q": "%"})
    assert member_emails(wildcard.text) == [], "% is searched for literally"
    none = await client.get("/o/acme/members", params={"q": "zebra"})
    assert "No member matches “zebra”" in none.text


async def test_search_as_you_type_returns_only_the_results_fragment(client, world):
    await sign_in(client, world.mia)
    fragment = await client.get(
        "/o/acme/members",
        params={"q": "mia@"},
        headers={"hx-request": "true", "hx-target": "members-results"},
    )
    assert "<html" not in fragment.text
    assert member_emails(fragment.text) == ["mia@acme.example"]


async def test_keyset_pages_walk_forward_and_back_without_gaps(client, world, sessionmaker):
    await add_members(sessionmaker, world.acme.id, 57)
    await sign_in(client, world.mia)
    seen: list[str] = []
    pages: list[list[str]] = []
    url = "/o/acme/members"
    while url:
        page = await client.get(url)
        emails = member_emails(page.text)
        assert len(emails) <= 25
        pages.append(emails)
        seen += emails
        url = next_link(page.text)
    assert len(seen) == 60 and len(set(seen)) == 60, "every member once, no gaps, no repeats"
    assert [len(p) for p in pages] == [25, 25, 10]

    back = await client.get(prev_link(page.text))
    assert member_emails(back.text) == pages[1]
    first = await client.get(prev_link(back.text))
    assert member_emails(first.text) == pages[0]
    assert prev_link(first.text) is None


async def test_pagination_keeps_the_search(client, world, sessionmaker):
    await add_members(sessionmaker, world.acme.id, 30, prefix="Zed")
    await sign_in(client, world.mia)
    page = await client.get("/o/acme/members", params={"q": "zed"})
    assert "q=zed" in next_link(page.text)
    second = await client.get(next_link(page.text))
    assert len(member_emails(second.text)) == 5
    assert all(email.startswith("zed") for email in member_emails(second.text))


async def test_a_tampered_cursor_gives_the_first_page(client, world):
    await sign_in(client, world.mia)
    for cursor in ("garbage", "eyJ4IjoxfQ", "W10", "x" * 5000):
        page = await client.get("/o/acme/members", params={"cursor": cursor})
        assert page.status_code == 200
        assert member_emails(page.text)[0] == "adam@acme.example"


async def test_members_page_costs_the_same_queries_for_3_or_300_members(client, world, sessionmaker, app_engine):
    await sign_in(client, world.mia)
    await client.get("/o/acme/members")  # warm up: template compilation, caches
    with count_queries(app_engine) as small:
        await client.get("/o/acme/members")
    await add_members(sessionmaker, world.acme.id, 300)
    with count_queries(app_engine) as large:
        page = await client.get("/o/acme/members")
    assert len(member_emails(page.text)) == 25
    assert small.count == large.count, large.statements
    # session, switcher, org + membership, permissions, page, its roles, its groups, the role list
    # for the inline editor (2), the count
    assert large.count <= 10


async def test_org_home_costs_the_same_queries_for_3_or_300_members(client, world, sessionmaker, app_engine):
    await sign_in(client, world.mia)
    await client.get("/o/acme")
    with count_queries(app_engine) as small:
        await client.get("/o/acme")
    await add_members(sessionmaker, world.acme.id, 300)
    with count_queries(app_engine) as large:
        await client.get("/o/acme")
    assert small.count == large.count, large.statements


async def test_a_renamed_member_moves_in_the_list_and_search_knows_accents(client, world):
    await sign_in(client, world.mia)
    await post_form(client, "/account/profile", {"name": "Zoë Álvarez"})
    page = await client.get("/o/acme/members")
    assert member_emails(page.text)[-1] == "mia@acme.example", "sorted by the new name"
    for query in ("ÁLVAREZ", "alvarez", "zoe"):
        found = await client.get("/o/acme/members", params={"q": query})
        assert member_emails(found.text) == ["mia@acme.example"], query


async def test_a_cursor_past_the_end_shows_the_first_page(client, world, sessionmaker):
    from tenantry.lib.pagination import encode_cursor

    await sign_in(client, world.mia)
    beyond = encode_cursor("after", ["zzzz", "ffffffff-ffff-ffff-ffff-ffffffffffff"])
    page = await client.get("/o/acme/members", params={"cursor": beyond})
    assert member_emails(page.text) == ["adam@acme.example", "mia@acme.example", "olivia@acme.example"]
    assert "No members yet" not in page.text
