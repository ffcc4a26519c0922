"""Deactivate, reactivate, remove, leave, transfer ownership: access follows on the very next
request, and an org never loses its last owner."""

from __future__ import annotations

import asyncio
from html import unescape

from sqlalchemy import select, update

from tenantry.access.models import MembershipRole
from tenantry.access.services import template_role
from tenantry.audit.services import Actor
from tenantry.groups.models import GroupMember
from tenantry.lib.forms import InvalidInput
from tenantry.members.lifecycle import deactivate_member, leave_org
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization
from tests.integration.conftest import count, events, field_error, post_form, sign_in
from tests.integration.test_invitations import text_of


async def status_of(db, membership_id) -> str | None:
    return await db.scalar(
        select(Membership.status).where(Membership.id == membership_id).execution_options(populate_existing=True)
    )


async def test_deactivating_cuts_access_on_the_next_request_and_reactivating_gives_it_back(client, world, db):
    """Adam is already signed in (his session is kept aside) when Olivia cuts his access."""
    from tenantry.accounts.sessions import SESSION_COOKIE

    def as_(token: str) -> None:
        client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")

    adam_id = world.memberships["adam"].id
    adams_session = await sign_in(client, world.adam)
    assert (await client.get("/o/acme/groups")).status_code == 200
    olivias_session = await sign_in(client, world.olivia)
    page = text_of((await client.get(f"/o/acme/members/{adam_id}")).text)
    assert "Deactivating cuts Adam Admin's access at once" in page
    response = await post_form(client, f"/o/acme/members/{adam_id}/deactivate", follow_redirects=True)
    assert "Adam Admin is deactivated" in unescape(response.text)
    assert await status_of(db, adam_id) == MembershipStatus.INACTIVE

    # Adam's very next request: the org is gone for him, and from his switcher.
    as_(adams_session)
    assert (await client.get("/o/acme/groups")).status_code == 404
    assert "Acme" not in (await client.get("/")).text
    # Roles and groups are kept.
    assert await count(db, MembershipRole, MembershipRole.membership_id == adam_id) == 1
    assert await count(db, GroupMember, GroupMember.membership_id == adam_id) == 1

    as_(olivias_session)
    listed = text_of((await client.get("/o/acme/members")).text)
    assert "Adam Admin Deactivated" in listed
    again = await post_form(client, f"/o/acme/members/{adam_id}/deactivate", follow_redirects=True)
    assert "Adam Admin was already deactivated." in unescape(again.text)
    back = await post_form(client, f"/o/acme/members/{adam_id}/reactivate", follow_redirects=True)
    assert "Adam Admin is active again, with their roles and groups." in unescape(back.text)

    as_(adams_session)
    assert (await client.get("/o/acme/groups")).status_code == 200
    assert "Developer" in (await client.get("/o/acme")).text, "the group's role is back too"
    assert [e.action for e in await events(db) if e.action.startswith("membership.")][-2:] == [
        "membership.deactivated",
        "membership.reactivated",
    ]


async def test_an_admin_cant_deactivate_or_remove_an_owner_or_themselves(client, world, db):
    await sign_in(client, world.adam)
    olivia = world.memberships["olivia"].id
    for verb in ("deactivate", "remove"):
        response = await post_form(client, f"/o/acme/members/{olivia}/{verb}")
        assert response.status_code == 403
        assert "Olivia Owner is an owner; only owners can change that." in unescape(response.text)
    mine = await post_form(client, f"/o/acme/members/{world.memberships['adam'].id}/deactivate")
    assert mine.status_code == 422 and "That is you. To leave Acme" in unescape(mine.text)
    assert await status_of(db, olivia) == MembershipStatus.ACTIVE
    assert await status_of(db, world.memberships["adam"].id) == MembershipStatus.ACTIVE


async def test_the_last_owner_can_neither_be_deactivated_nor_leave(client, world, db, sessionmaker):
    async with sessionmaker() as session:
        org = await session.get(Organization, world.acme.id)
        membership = await session.get(Membership, world.memberships["olivia"].id)
        try:
            await deactivate_member(session, org=org, membership=membership, user=world.olivia, actor=Actor.system())
        except InvalidInput as exc:
            assert exc.errors == {"__all__": "Olivia Owner is the last owner. Make someone else an owner first."}
        else:
            raise AssertionError("the last owner was deactivated")

    await sign_in(client, world.olivia)
    page = await client.get("/o/acme/leave")
    assert "Leave Acme?" in unescape(page.text)
    refused = await post_form(client, "/o/acme/leave")
    assert refused.status_code == 422
    assert "You are the last owner of Acme. Transfer ownership to another member first" in unescape(refused.text)
    assert await status_of(db, world.memberships["olivia"].id) == MembershipStatus.ACTIVE


async def test_removing_asks_first_then_deletes_roles_and_groups_but_not_the_account(client, world, db):
    adam = world.memberships["adam"].id
    await sign_in(client, world.olivia)
    page = text_of((await client.get(f"/o/acme/members/{adam}/remove")).text)
    assert "Remove Adam Admin from Acme?" in page and "Engineering" in page
    response = await post_form(client, f"/o/acme/members/{adam}/remove", follow_redirects=True)
    assert response.url.path == "/o/acme/members"
    assert "Adam Admin was removed from Acme." in unescape(response.text)
    assert await count(db, Membership, Membership.id == adam) == 0
    assert await count(db, GroupMember, GroupMember.membership_id == adam) == 0
    [event] = await events(db, "membership.removed")
    assert event.before == {"status": "active", "roles": ["admin"], "groups": ["Engineering"]}
    await sign_in(client, world.adam)
    assert (await client.get("/o/acme")).status_code == 404
    assert (await client.get("/account")).status_code == 200, "the account stays"


async def test_a_member_leaves_on_their_own(client, world, db):
    await sign_in(client, world.mia)
    home = text_of((await client.get("/o/acme")).text)
    assert "Leave Acme…" in home
    response = await post_form(client, "/o/acme/leave", follow_redirects=True)
    assert response.url.path == "/orgs/new" or response.url.path == "/"
    assert "You left Acme." in unescape(response.text)
    assert await count(db, Membership, Membership.id == world.memberships["mia"].id) == 0
    assert [e.target_label for e in await events(db, "membership.left")] == ["mia@acme.example"]
    assert (await client.get("/o/acme")).status_code == 404


async def test_ownership_is_handed_over_and_the_old_owner_becomes_admin(client, world, db):
    await sign_in(client, world.adam)
    assert (await client.get("/o/acme/settings/transfer")).status_code == 403, "admins lack org:delete"
    await sign_in(client, world.olivia)
    assert "Transfer ownership…" in text_of((await client.get("/o/acme/settings")).text)
    for email, message in [
        ("", "This field is required."),
        ("gus@globex.example", "No active member of Acme has this address."),
        ("olivia@acme.example", "That is you. Enter the address of the member who should take over."),
    ]:
        refused = await post_form(client, "/o/acme/settings/transfer", {"email": email})
        assert refused.status_code == 422 and field_error(refused.text, "email") == message, email

    response = await post_form(
        client, "/o/acme/settings/transfer", {"email": "ADAM@acme.example"}, follow_redirects=True
    )
    assert "Adam Admin now owns Acme. You are an admin." in unescape(response.text)
    owner = await template_role(db, "owner")
    admin = await template_role(db, "admin")
    roles = {
        name: set(
            await db.scalars(
                select(MembershipRole.role_id).where(MembershipRole.membership_id == world.memberships[name].id)
            )
        )
        for name in ("olivia", "adam")
    }
    assert roles == {"olivia": {admin.id}, "adam": {admin.id, owner.id}}
    [event] = await events(db, "org.ownership_transferred")
    assert event.after["owner"] == "adam@acme.example"
    assert (await client.get("/o/acme/settings/transfer")).status_code == 403, "Olivia is an admin now"

    # Now Olivia may leave: Adam owns Acme.
    assert (await post_form(client, "/o/acme/leave", follow_redirects=False)).status_code == 303


async def test_reactivating_past_the_seat_limit_is_refused(client, world, db):
    mia = world.memberships["mia"].id
    await db.execute(update(Membership).where(Membership.id == mia).values(status=MembershipStatus.INACTIVE))
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(seat_limit=2))
    await db.commit()
    await sign_in(client, world.adam)
    response = await post_form(client, f"/o/acme/members/{mia}/reactivate")
    assert response.status_code == 422
    assert "Acme has 2 seats, all of them taken" in unescape(response.text)
    assert await status_of(db, mia) == MembershipStatus.INACTIVE


async def test_two_owners_leaving_at_once_leave_one_owner(sessionmaker, world, db, settings):
    owner = await template_role(db, "owner")
    db.add(MembershipRole(membership_id=world.memberships["adam"].id, role_id=owner.id))
    await db.commit()

    async def leave(user):
        async with sessionmaker() as session:
            org = await session.get(Organization, world.acme.id)
            try:
                await leave_org(
                    session, settings=settings, org=org, user=user, actor=Actor(user_id=user.id, label=user.name)
                )
            except InvalidInput:
                await session.rollback()
                return "refused"
            await asyncio.sleep(0.1)
            await session.commit()
            return "left"

    results = await asyncio.gather(leave(world.olivia), leave(world.adam))
    assert sorted(results) == ["left", "refused"]


# --- creating a member directly --------------------------------------------------------------


async def test_an_admin_creates_a_member_who_sets_a_password_from_the_welcome_email(client, world, db):
    from tenantry.accounts.models import User
    from tenantry.mail.models import OutboxMessage
    from tests.integration.test_account_mail import path_of
    from tests.mail_sink import link_in

    analyst = await template_role(db, "analyst")
    await sign_in(client, world.adam)
    form = text_of((await client.get("/o/acme/members/new")).text)
    assert "Add a member" in form and "Engineering" in form
    response = await post_form(
        client,
        "/o/acme/members/new",
        {
            "name": "Carl Created",
            "email": "Carl@Acme.example",
            "role": [str(analyst.id)],
            "group": [str(world.engineering.id)],
        },
        follow_redirects=True,
    )
    assert "Carl Created is a member of Acme. A welcome email" in unescape(response.text)
    carl = await db.scalar(select(User).where(User.email == "carl@acme.example"))
    assert carl.password_hash is None and carl.email_verified_at is None
    membership = await db.scalar(select(Membership).where(Membership.user_id == carl.id))
    assert membership.status == MembershipStatus.ACTIVE and membership.org_id == world.acme.id
    assert set(
        await db.scalars(select(MembershipRole.role_id).where(MembershipRole.membership_id == membership.id))
    ) == {analyst.id}
    assert await count(db, GroupMember, GroupMember.membership_id == membership.id) == 1
    [joined] = [e for e in await events(db, "group.member_added") if e.after == {"member": "carl@acme.example"}]
    assert joined.target_id == str(world.engineering.id)
    [mail] = await db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "carl@acme.example"))
    assert mail.kind == "welcome" and mail.subject == "Adam Admin added you to Acme on Tenantry"
    assert "Analyst" in mail.text_body and "Engineering" in mail.text_body

    client.cookies.clear()
    link = path_of(link_in(mail.text_body, "/set-password/"))
    assert (await client.get(link)).status_code == 200
    done = await post_form(client, link, {"password": "carl's own passphrase"}, follow_redirects=True)
    assert done.status_code == 200
    carl = await db.scalar(select(User).where(User.id == carl.id).execution_options(populate_existing=True))
    assert carl.password_hash and carl.email_verified_at is not None
    assert (await client.get("/o/acme")).status_code == 200, "signed in, and in Acme"


async def test_creating_a_member_refuses_existing_accounts_and_members_next_to_the_field(client, world, db):
    await sign_in(client, world.adam)
    for email, message in [
        ("mia@acme.example", "Mia Member is already a member of Acme."),
        ("gus@globex.example", "This address already has an account. Invite it instead"),
        ("nope", "An email address must have an @-sign."),
    ]:
        response = await post_form(client, "/o/acme/members/new", {"name": "X", "email": email})
        assert response.status_code == 422, email
        assert message in field_error(response.text, "email"), email
    owner = await template_role(db, "owner")
    refused = await post_form(
        client, "/o/acme/members/new", {"name": "Big", "email": "big@acme.example", "role": [str(owner.id)]}
    )
    assert refused.status_code == 403 and "Only owners can make someone an owner." in unescape(refused.text)
    assert await count(db, Membership, Membership.org_id == world.acme.id) == 3


async def test_a_created_member_gets_the_default_role_and_counts_against_seats(client, world, db):
    from tenantry.accounts.models import User

    await sign_in(client, world.adam)
    await post_form(client, "/o/acme/members/new", {"name": "Dee", "email": "dee@acme.example"})
    dee = await db.scalar(select(User).where(User.email == "dee@acme.example"))
    membership = await db.scalar(select(Membership).where(Membership.user_id == dee.id))
    member = await template_role(db, "member")
    assert list(
        await db.scalars(select(MembershipRole.role_id).where(MembershipRole.membership_id == membership.id))
    ) == [member.id]
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(seat_limit=4))
    await db.commit()
    full = await post_form(client, "/o/acme/members/new", {"name": "Eve", "email": "eve@acme.example"})
    assert full.status_code == 422 and "Acme has 4 seats, all of them taken" in unescape(full.text)
    # A full org (an admin can make theirs full) learns nothing about whose address has an account.
    known = await post_form(client, "/o/acme/members/new", {"name": "Gus", "email": "gus@globex.example"})
    assert known.status_code == 422 and "Acme has 4 seats, all of them taken" in unescape(known.text)
    assert field_error(known.text, "email") is None


async def test_creating_members_counts_against_the_orgs_invitation_limit(world_factory):
    """It sends mail and says whether an address has an account: not without limit."""
    async with world_factory(invitation_limit_per_org_hour=2) as (client, world):
        await sign_in(client, world.adam)
        for email in ("gus@globex.example", "dee@acme.example"):
            await post_form(client, "/o/acme/members/new", {"name": "X", "email": email})
        refused = await post_form(client, "/o/acme/members/new", {"name": "Eve", "email": "eve@acme.example"})
        assert refused.status_code == 429
        async with client.test_sessionmaker() as db:
            assert await count(db, Membership, Membership.org_id == world.acme.id) == 4, "Dee only"


async def test_reactivating_cant_take_a_seat_an_open_invitation_holds(client, world, db):
    from tests.integration.conftest import make_invitation

    mia = world.memberships["mia"].id
    await db.execute(update(Membership).where(Membership.id == mia).values(status=MembershipStatus.INACTIVE))
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(seat_limit=3))
    await db.commit()
    await make_invitation(db, world.acme, "ann@acme.example")  # Olivia, Adam and Ann's invitation: full
    await sign_in(client, world.adam)
    response = await post_form(client, f"/o/acme/members/{mia}/reactivate")
    assert response.status_code == 422 and "Acme has 3 seats, all of them taken" in unescape(response.text)
