"""Personal workspaces and how many orgs a person may belong to (TENANTRY_PERSONAL_WORKSPACES,
TENANTRY_MAX_ORGS_PER_USER, TENANTRY_REQUIRE_ORG), at every way in and every way out."""

from __future__ import annotations

import asyncio
from html import unescape

import pytest
from sqlalchemy import select, update

from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import template_role
from tenantry.accounts.models import User
from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor
from tenantry.invitations.models import Invitation, InvitationStatus
from tenantry.invitations.services import accept_invitation
from tenantry.lib.clock import utcnow
from tenantry.lib.forms import InvalidInput
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization, PersonalWorkspace
from tenantry.web.guards import REACHABLE_WITHOUT_ORG
from tests.integration.conftest import (
    PASSWORD,
    count,
    csrf_token,
    events,
    make_invitation,
    make_user,
    post_form,
    sign_in,
)
from tests.integration.test_invitations import text_of
from tests.integration.test_route_table import endpoints

AT_MOST_ONE = "the most anyone can belong to here (1; a deactivated membership counts too)"


async def status_of(db, membership_id) -> str | None:
    return await db.scalar(
        select(Membership.status).where(Membership.id == membership_id).execution_options(populate_existing=True)
    )


async def org_count(db) -> int:
    return await count(db, Organization)


async def join_directly(db, org: Organization, user: User, status: str = MembershipStatus.ACTIVE) -> Membership:
    member = await template_role(db, BuiltinRole.MEMBER)
    membership = await create_membership(db, org=org, user=user, roles=[member], actor=Actor.system("tests"))
    membership.status = status
    await db.commit()
    return membership


# --- personal workspaces -----------------------------------------------------------------------


async def test_signing_up_makes_a_personal_workspace_shown_apart_in_the_switcher(world_factory):
    async with world_factory(personal_workspaces=True) as (client, _world):
        response = await post_form(
            client,
            "/signup",
            {"name": "Pat Jones", "email": "pat@example.com", "password": PASSWORD},
            follow_redirects=True,
        )
        assert response.url.path == "/o/pat-jones", "a new account lands in its own workspace"
        page = text_of(response.text)
        assert "Personal P Pat Jones's workspace Your personal workspace" in page
        listing = text_of((await client.get("/orgs")).text)
        assert "Personal P Pat Jones's workspace /o/pat-jones · your personal workspace" in listing
        activity = text_of((await client.get("/o/pat-jones/activity")).text)
        assert "Pat Jones created the personal workspace pat-jones" in activity

        async with client.test_sessionmaker() as db:
            pat = await db.scalar(select(User).where(User.email == "pat@example.com"))
            assert pat.email_verified_at is None, "made before the address is confirmed"
            org = await db.scalar(select(Organization).where(Organization.slug == "pat-jones"))
            assert await db.get(PersonalWorkspace, org.id) is not None
            created = [e for e in await events(db, "org.created") if e.org_id == org.id]
            assert len(created) == 1 and created[0].after["personal"] is True
            assert created[0].actor_label == "Pat Jones <pat@example.com>"


async def test_a_personal_workspace_takes_a_free_address_and_comes_first(world_factory):
    async with world_factory(personal_workspaces=True) as (client, world):
        # Someone called "Acme": /o/acme is taken, so their workspace gets the next free address.
        response = await post_form(
            client,
            "/signup",
            {"name": "Acme", "email": "acme@example.com", "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        async with client.test_sessionmaker() as db:
            user = await db.scalar(select(User).where(User.email == "acme@example.com"))
            slug = await db.scalar(
                select(Organization.slug)
                .join(PersonalWorkspace, PersonalWorkspace.org_id == Organization.id)
                .where(PersonalWorkspace.user_id == user.id)
            )
            assert slug == "acme-2"
            # Joining an org whose name sorts first doesn't push the workspace down.
            await join_directly(db, world.globex, user)
        switcher = text_of((await client.get("/orgs")).text)
        assert switcher.index("Acme's workspace") < switcher.index("Globex")


async def test_signing_up_through_an_invitation_makes_one_too_and_it_does_not_count(world_factory):
    async with world_factory(personal_workspaces=True, max_orgs_per_user=1) as (client, world):
        async with client.test_sessionmaker() as db:
            _, token = await make_invitation(db, world.acme, "nina@acme.example")
        response = await post_form(
            client, f"/invite/{token}/signup", {"name": "Nina New", "password": PASSWORD}, follow_redirects=True
        )
        assert response.url.path == "/o/acme"
        assert "Welcome to Acme, Nina New!" in unescape(response.text)
        page = text_of(response.text)
        assert "Personal N Nina New's workspace Your personal workspace" in page
        async with client.test_sessionmaker() as db:
            nina = await db.scalar(select(User).where(User.email == "nina@acme.example"))
            assert await count(db, Membership, Membership.user_id == nina.id) == 2
            assert await count(db, PersonalWorkspace, PersonalWorkspace.user_id == nina.id) == 1


async def test_without_the_setting_nobody_gets_a_personal_workspace(client, world, db):
    response = await post_form(
        client,
        "/signup",
        {"name": "Pat", "email": "pat@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    assert await count(db, PersonalWorkspace) == 0
    assert await org_count(db) == 2


async def test_an_account_an_admin_creates_gets_one_and_still_joins_at_a_limit_of_one(world_factory):
    async with world_factory(personal_workspaces=True, max_orgs_per_user=1) as (client, world):
        await sign_in(client, world.olivia)
        response = await post_form(
            client, "/o/acme/members/new", {"name": "Hal New", "email": "hal@acme.example"}, follow_redirects=False
        )
        assert response.status_code == 303, text_of(response.text)[:400]
        async with client.test_sessionmaker() as db:
            hal = await db.scalar(select(User).where(User.email == "hal@acme.example"))
            assert await count(db, Membership, Membership.user_id == hal.id) == 2
            assert await count(db, PersonalWorkspace, PersonalWorkspace.user_id == hal.id) == 1


# --- at most N ---------------------------------------------------------------------------------


async def test_creating_an_org_past_the_limit_is_refused_and_said_before_the_form(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        await sign_in(client, world.olivia)
        page = text_of((await client.get("/orgs/new")).text)
        assert "You can't create another organization" in page
        assert "You belong to 1 organization already, the most anyone can belong to here (1;" in page
        response = await post_form(client, "/orgs/new", {"name": "Second", "brand_color": "#123456"})
        assert response.status_code == 422
        assert f"You already belong to 1 organization, {AT_MOST_ONE}. Leave one before creating another." in (
            text_of(response.text)
        )
        async with client.test_sessionmaker() as db:
            assert await org_count(db) == 2
            assert await count(db, AuditEvent, AuditEvent.action == "org.created") == 2, "only the world's two"


async def test_a_personal_workspace_does_not_count_toward_the_limit(world_factory):
    async with world_factory(personal_workspaces=True, max_orgs_per_user=1) as (client, _world):
        await post_form(client, "/signup", {"name": "Pat", "email": "pat@example.com", "password": PASSWORD})
        async with client.test_sessionmaker() as db:
            await db.execute(
                update(User).where(User.email == "pat@example.com").values(email_verified_at=User.created_at)
            )
            await db.commit()
        assert "You can't create another organization" not in text_of((await client.get("/orgs/new")).text)
        first = await post_form(
            client, "/orgs/new", {"name": "Pat's Team", "brand_color": "#123456"}, follow_redirects=False
        )
        assert first.status_code == 303
        second = await post_form(client, "/orgs/new", {"name": "Another", "brand_color": "#123456"})
        assert second.status_code == 422
        assert "You already belong to 1 organization" in text_of(second.text)


async def test_accepting_an_invitation_past_the_limit_is_refused_and_changes_nothing(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        async with client.test_sessionmaker() as db:
            invitation, token = await make_invitation(db, world.acme, "gus@globex.example")
            before = await count(db, AuditEvent)
        await sign_in(client, world.gus)
        response = await post_form(client, f"/invite/{token}/accept")
        assert response.status_code == 422
        assert f"You already belong to 1 organization, {AT_MOST_ONE}. Leave one before joining Acme." in (
            text_of(response.text)
        )
        async with client.test_sessionmaker() as db:
            assert await count(db, Membership, Membership.user_id == world.gus.id) == 1
            assert (await db.get(Invitation, invitation.id)).status == InvitationStatus.PENDING
            assert await count(db, AuditEvent) == before


async def test_a_deactivated_membership_counts(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        async with client.test_sessionmaker() as db:
            await db.execute(
                update(Membership).where(Membership.id == world.memberships["mia"].id).values(status="inactive")
            )
            await db.commit()
            _, token = await make_invitation(db, world.globex, "mia@acme.example")
        await sign_in(client, world.mia)
        response = await post_form(client, f"/invite/{token}/accept")
        assert response.status_code == 422
        assert "Leave one before joining Globex." in text_of(response.text)


async def test_reactivating_someone_past_the_limit_is_refused(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        mia_id = world.memberships["mia"].id
        async with client.test_sessionmaker() as db:
            await db.execute(update(Membership).where(Membership.id == mia_id).values(status="inactive"))
            await db.commit()
            await join_directly(db, world.globex, world.mia)  # e.g. before the limit was set
        await sign_in(client, world.olivia)
        response = await post_form(client, f"/o/acme/members/{mia_id}/reactivate")
        assert response.status_code == 422
        assert (
            f"Mia Member already belongs to 1 organization, {AT_MOST_ONE}. "
            "They must leave one before they can be reactivated in Acme."
        ) in text_of(response.text)
        async with client.test_sessionmaker() as db:
            assert await status_of(db, mia_id) == MembershipStatus.INACTIVE


async def test_reactivating_within_the_limit_works(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        mia_id = world.memberships["mia"].id
        async with client.test_sessionmaker() as db:
            await db.execute(update(Membership).where(Membership.id == mia_id).values(status="inactive"))
            await db.commit()
        await sign_in(client, world.olivia)
        response = await post_form(client, f"/o/acme/members/{mia_id}/reactivate", follow_redirects=False)
        assert response.status_code == 303
        async with client.test_sessionmaker() as db:
            assert await status_of(db, mia_id) == MembershipStatus.ACTIVE


async def test_two_tabs_accepting_two_invitations_at_a_limit_of_one_join_one_org(
    backend, settings, sessionmaker, world, db
):
    """The person's row is locked while counting: the second acceptance sees the first. (Each
    acceptance locks a different org, so only the lock on the person keeps them apart.)"""
    if backend == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the two acceptances can't overlap there")
    limited = settings.model_copy(update={"max_orgs_per_user": 1})
    _, to_acme = await make_invitation(db, world.acme, "nora@newcomer.example")
    _, to_globex = await make_invitation(db, world.globex, "nora@newcomer.example")

    async def accept(token: str) -> str:
        async with sessionmaker() as session:
            nora = await session.get(User, world.nora.id)
            try:
                org = await accept_invitation(
                    session, token=token, user=nora, actor=Actor(user_id=nora.id, label="n"), settings=limited
                )
            except InvalidInput as exc:
                await session.rollback()
                return " ".join(exc.errors.values())
            await asyncio.sleep(0.05)
            await session.commit()
            return org.slug

    results = await asyncio.gather(accept(to_acme), accept(to_globex))
    joined = [r for r in results if r in ("acme", "globex")]
    assert len(joined) == 1, results
    refusal = next(r for r in results if r not in ("acme", "globex"))
    assert refusal.startswith("You already belong to 1 organization")
    assert await count(db, Membership, Membership.user_id == world.nora.id) == 1


# --- at least one --------------------------------------------------------------------------------


async def test_leaving_your_only_org_is_refused_when_one_is_required(world_factory):
    async with world_factory(require_org=True) as (client, world):
        await sign_in(client, world.mia)
        response = await post_form(client, "/o/acme/leave")
        assert response.status_code == 422
        assert (
            "Acme is your only organization, and everyone here needs at least one. "
            "Join or create another organization first, then leave this one."
        ) in text_of(response.text)
        async with client.test_sessionmaker() as db:
            assert await status_of(db, world.memberships["mia"].id) == MembershipStatus.ACTIVE
            assert await count(db, AuditEvent, AuditEvent.action == "membership.left") == 0

            await join_directly(db, world.globex, world.mia)
        left = await post_form(client, "/o/acme/leave", follow_redirects=False)
        assert left.status_code == 303


async def test_a_personal_workspace_is_an_org_to_stay_in(world_factory):
    async with world_factory(require_org=True, personal_workspaces=True) as (client, world):
        await post_form(client, "/signup", {"name": "Pat", "email": "pat@example.com", "password": PASSWORD})
        async with client.test_sessionmaker() as db:
            pat = await db.scalar(select(User).where(User.email == "pat@example.com"))
            await join_directly(db, world.acme, pat)
        assert (await post_form(client, "/o/acme/leave", follow_redirects=False)).status_code == 303


async def test_an_admin_may_remove_someones_only_org_and_is_told(world_factory):
    async with world_factory(require_org=True) as (client, world):
        await sign_in(client, world.olivia)
        confirm = text_of((await client.get(f"/o/acme/members/{world.memberships['mia'].id}/remove")).text)
        assert "Acme is Mia Member's only organization." in confirm
        async with client.test_sessionmaker() as db:
            gus_in_acme = await join_directly(db, world.acme, world.gus)  # Gus has Globex too
        gus = text_of((await client.get(f"/o/acme/members/{gus_in_acme.id}/remove")).text)
        assert "only organization" not in gus
        response = await post_form(
            client, f"/o/acme/members/{world.memberships['mia'].id}/remove", follow_redirects=True
        )
        assert (
            "Mia Member was removed from Acme. Mia Member now belongs to no organization: "
            "they will be asked to create or join one."
        ) in text_of(response.text)

        await sign_in(client, world.mia)
        home = await client.get("/", follow_redirects=False)
        assert home.headers["location"] == "/orgs/start"
        page = await client.get("/orgs/start")
        assert page.status_code == 200
        assert "Create or join an organization" in text_of(page.text)


async def test_someone_without_an_org_reaches_only_create_or_join(world_factory):
    async with world_factory(require_org=True) as (client, world):
        async with client.test_sessionmaker() as db:
            lone = await make_user(db, "Lone Wolf", "lone@example.com")
            _, token = await make_invitation(db, world.acme, "lone@example.com", inviter=world.olivia)
            await db.commit()
        await sign_in(client, lone)
        headers = {"x-csrftoken": await csrf_token(client)}
        reachable = []
        for endpoint in endpoints(client.app):
            if endpoint.opt.get("public"):
                continue
            url = endpoint.url("acme")
            if endpoint.opt.get(REACHABLE_WITHOUT_ORG):
                reachable.append(str(endpoint))
                if endpoint.method == "GET":
                    response = await client.get(url, follow_redirects=False)
                    assert response.headers.get("location") != "/orgs/start", endpoint
                continue
            response = await client.request(endpoint.method, url, headers=headers, follow_redirects=False)
            assert response.status_code == 303, endpoint
            assert response.headers["location"] == "/orgs/start", endpoint
        # What stays reachable is a short list, chosen on purpose: a new route must decide.
        assert {r for r in reachable if not r.startswith(("GET /account", "POST /account"))} == {
            "POST /logout",
            "GET /orgs/new",
            "POST /orgs/new",
            "GET /orgs/slug-hint",
            "GET /orgs/start",
            "POST /invite/{token:str}/accept",
        }

        page = text_of((await client.get("/orgs/start")).text)
        assert "Invitations sent to lone@example.com Acme · invited by Olivia Owner" in page
        pasted = await client.get(
            "/orgs/start", params={"link": f"https://portal.example/invite/{token}"}, follow_redirects=False
        )
        assert pasted.status_code == 303 and pasted.headers["location"] == f"/invite/{token}"
        bad = await client.get("/orgs/start", params={"link": "hello"})
        assert bad.status_code == 422
        assert "This isn't an invitation link." in text_of(bad.text)

        joined = await post_form(client, f"/invite/{token}/accept", follow_redirects=False)
        assert joined.status_code == 303
        assert (await client.get("/o/acme", follow_redirects=False)).status_code == 200


async def test_staff_and_members_are_not_sent_to_create_or_join(world_factory):
    async with world_factory(require_org=True) as (client, world):
        await sign_in(client, world.sam)
        assert (await client.get("/staff/activity", follow_redirects=False)).status_code == 200
        await sign_in(client, world.mia)
        assert (await client.get("/o/acme", follow_redirects=False)).status_code == 200
        assert (await client.get("/orgs", follow_redirects=False)).status_code == 200


async def test_a_deleted_org_counts_for_nothing(world_factory):
    """Deleted (and restorable) orgs can't be reached: they neither fill the limit nor keep
    someone in an org."""
    async with world_factory(require_org=True) as (client, world):
        async with client.test_sessionmaker() as db:
            await join_directly(db, world.globex, world.mia)
            await db.execute(update(Organization).where(Organization.id == world.globex.id).values(deleted_at=utcnow()))
            await db.commit()
        await sign_in(client, world.mia)
        response = await post_form(client, "/o/acme/leave")
        assert response.status_code == 422 and "Acme is your only organization" in text_of(response.text)


async def test_create_or_join_lists_invitations_only_to_a_confirmed_address_and_live_orgs(world_factory):
    async with world_factory(require_org=True) as (client, world):
        async with client.test_sessionmaker() as db:
            await make_invitation(db, world.acme, world.nora.email, inviter=world.olivia)
            await make_invitation(db, world.globex, world.nora.email, inviter=world.gus)
            await db.commit()
        await sign_in(client, world.nora)  # signed up with this address, never confirmed it
        page = text_of((await client.get("/orgs/start")).text)
        assert "Olivia" not in page and "Acme" not in page  # anyone can sign up with any address

        async with client.test_sessionmaker() as db:
            await db.execute(update(User).where(User.id == world.nora.id).values(email_verified_at=utcnow()))
            await db.execute(update(Organization).where(Organization.id == world.globex.id).values(deleted_at=utcnow()))
            await db.commit()
        page = text_of((await client.get("/orgs/start")).text)
        assert "Acme" in page and "Globex" not in page


async def test_a_personal_workspace_handed_over_is_nobodys_personal_one(world_factory):
    async with world_factory(personal_workspaces=True) as (client, world):
        await post_form(client, "/signup", {"name": "Pat", "email": "pat@example.com", "password": PASSWORD})
        async with client.test_sessionmaker() as db:
            pat = await db.scalar(select(User).where(User.email == "pat@example.com"))
            await db.execute(update(User).where(User.id == pat.id).values(email_verified_at=utcnow()))
            [org_id] = await db.scalars(select(PersonalWorkspace.org_id).where(PersonalWorkspace.user_id == pat.id))
            org = await db.get(Organization, org_id)
            await join_directly(db, org, world.mia)
            slug = org.slug
        await sign_in(client, pat)
        done = await post_form(client, f"/o/{slug}/settings/transfer", {"email": world.mia.email})
        assert done.status_code == 200, done.text[:300]
        async with client.test_sessionmaker() as db:
            assert await count(db, PersonalWorkspace, PersonalWorkspace.org_id == org_id) == 0
            [event] = await events(db, "org.ownership_transferred")
            assert event.after["personal_workspace"] is False


async def test_restoring_an_org_tells_support_who_is_now_over_the_limit(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        async with client.test_sessionmaker() as db:
            await db.execute(update(Organization).where(Organization.id == world.acme.id).values(deleted_at=utcnow()))
            await join_directly(db, world.globex, world.mia)  # Acme gone: Mia had room for Globex
        await sign_in(client, world.sam)
        restored = await post_form(client, f"/staff/orgs/{world.acme.id}/restore", follow_redirects=True)
        page = text_of(restored.text)
        assert "Acme is restored" in page
        assert "Mia Member now belongs to more organizations than the limit of 1" in page
