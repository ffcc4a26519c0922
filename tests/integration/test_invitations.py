"""Invitations: inviting many at once, the pending list, resend and revoke, the join link for
every kind of visitor, expiry, seats, and acceptance racing itself."""

from __future__ import annotations

import asyncio
import re
from html import unescape

from sqlalchemy import func, select, update

from tenantry.access.models import MembershipRole, Role
from tenantry.accounts.models import User
from tenantry.audit.sentences import describe
from tenantry.audit.services import Actor
from tenantry.groups.models import GroupMember
from tenantry.invitations.models import Invitation, InvitationGroup, InvitationRole, InvitationStatus
from tenantry.invitations.services import accept_invitation
from tenantry.lib.tokens import hash_token
from tenantry.mail.models import OutboxMessage
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization
from tests.clock import travel
from tests.integration.conftest import (
    PASSWORD,
    accept_all_at_once,
    count,
    events,
    field_error,
    make_invitation,
    make_user,
    post_form,
    sign_in,
)
from tests.mail_sink import link_in


def text_of(html: str) -> str:
    """The page's words as a reader sees them: tags gone, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


async def template_role_id(db, key: str):
    return await db.scalar(select(Role.id).where(Role.org_id.is_(None), Role.key == key))


async def invitation_of(db, email: str, org_id=None) -> Invitation | None:
    statement = select(Invitation).where(Invitation.email == email).order_by(Invitation.created_at.desc())
    if org_id:
        statement = statement.where(Invitation.org_id == org_id)
    return await db.scalar(statement.execution_options(populate_existing=True))


async def membership_of(db, org_id, email: str) -> Membership | None:
    return await db.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, User.email == email)
        .execution_options(populate_existing=True)
    )


def join_path(mail: OutboxMessage) -> str:
    return "/invite/" + link_in(mail.text_body, "/invite/").rsplit("/invite/", 1)[1]


async def invite(client, data: dict, files=None):
    return await post_form(client, "/o/acme/invitations", data, files=files or {"csv": ("", b"", "")})


# --- inviting -------------------------------------------------------------------------------------


async def test_invite_a_pasted_list_and_a_csv_with_roles_groups_and_a_message(client, world, db):
    await sign_in(client, world.adam)
    analyst = await template_role_id(db, "analyst")
    csv = b"name,email\nCara,cara@acme.example\nDan,DAN@acme.example\nBad,not-an-address\n"
    response = await invite(
        client,
        {
            "emails": "Ann <ann@acme.example>, bob@acme.example; oops@\nann@acme.example",
            "role": [str(analyst)],
            "group": [str(world.engineering.id)],
            "expiry_days": "3",
            "message": "Welcome aboard!",
        },
        files={"csv": ("people.csv", csv, "text/csv")},
    )
    assert response.status_code == 200
    text = unescape(response.text)
    assert "4 invitations sent." in text
    assert "2 addresses couldn't be used" in text
    assert "oops@" in text and "not-an-address" in text
    assert re.search(r'<textarea[^>]*name="emails"[^>]*>\s*oops@\nnot-an-address', response.text), (
        "only what needs correcting stays in the box"
    )

    invited = sorted(i.email for i in await db.scalars(select(Invitation).where(Invitation.org_id == world.acme.id)))
    assert invited == ["ann@acme.example", "bob@acme.example", "cara@acme.example", "dan@acme.example"]
    ann = await invitation_of(db, "ann@acme.example")
    assert ann.message == "Welcome aboard!" and ann.inviter_name == "Adam Admin"
    assert 2.9 < (ann.expires_at - ann.created_at).total_seconds() / 86400 < 3.1
    assert set(await db.scalars(select(InvitationRole.role_id).where(InvitationRole.invitation_id == ann.id))) == {
        analyst
    }
    assert set(await db.scalars(select(InvitationGroup.group_id).where(InvitationGroup.invitation_id == ann.id))) == {
        world.engineering.id
    }
    [mail] = await db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "ann@acme.example"))
    assert mail.invitation_id == ann.id and mail.kind == "invitation"
    assert "Adam Admin" in mail.text_body and "Acme" in mail.subject and "Welcome aboard!" in mail.text_body
    assert len(await events(db, "invitation.created")) == 4

    page = unescape((await client.get("/o/acme/invitations")).text)
    for address in invited:
        assert address in page
    assert "Analyst" in page and "Waiting to be sent" in page


async def test_no_role_ticked_means_the_orgs_default_role(client, world, db):
    await sign_in(client, world.adam)
    await invite(client, {"emails": "ann@acme.example"})
    ann = await invitation_of(db, "ann@acme.example")
    assert list(await db.scalars(select(InvitationRole.role_id).where(InvitationRole.invitation_id == ann.id))) == [
        await template_role_id(db, "member")
    ]


async def test_members_and_people_already_invited_are_reported_not_invited_again(client, world, db):
    await sign_in(client, world.adam)
    await make_invitation(db, world.acme, "ann@acme.example")
    response = await invite(client, {"emails": "mia@acme.example ann@acme.example bob@acme.example"})
    text = unescape(response.text)
    assert "1 invitation sent." in text
    assert "Already members, so not invited: mia@acme.example." in text
    assert "Already invited (their invitation is still open" in text and "ann@acme.example" in text
    assert await count(db, Invitation, Invitation.email == "ann@acme.example") == 1

    again = await invite(client, {"emails": "mia@acme.example"})
    assert "Nobody new was invited." in unescape(again.text)


async def test_an_empty_or_all_invalid_list_says_so_next_to_the_field_and_changes_nothing(client, world, db):
    await sign_in(client, world.adam)
    for emails in ["", "   ", "nope, @@"]:
        response = await invite(client, {"emails": emails})
        assert response.status_code == 422
        assert field_error(response.text, "emails") == "Enter at least one valid email address."
    assert await count(db, Invitation) == 0


async def test_more_than_a_thousand_addresses_are_refused_with_the_count(client, world, db):
    await sign_in(client, world.adam)
    emails = "\n".join(f"p{i}@acme.example" for i in range(1001))
    response = await invite(client, {"emails": emails})
    assert response.status_code == 422
    assert field_error(response.text, "emails") == "That is 1,001 addresses; invite at most 1,000 at a time."
    assert await count(db, Invitation) == 0


async def test_expiry_days_outside_one_to_thirty_are_refused(client, world, db):
    await sign_in(client, world.adam)
    for days in ["0", "31", "abc"]:
        response = await invite(client, {"emails": "ann@acme.example", "expiry_days": days})
        assert response.status_code == 422
        assert field_error(response.text, "expiry_days") in {"Choose between 1 and 30 days.", "Enter a whole number."}
    assert await count(db, Invitation) == 0


async def test_a_refused_form_keeps_the_ticked_roles_and_groups(client, world, db):
    await sign_in(client, world.adam)
    analyst = await template_role_id(db, "analyst")
    response = await invite(
        client,
        {
            "emails": "ann@acme.example",
            "expiry_days": "99",
            "role": [str(analyst)],
            "group": [str(world.engineering.id)],
        },
    )
    assert re.search(rf'value="{analyst}"[^>]*checked', response.text)
    assert re.search(rf'value="{world.engineering.id}"[^>]*checked', response.text)


async def test_an_admin_cant_invite_someone_as_owner(client, world, db):
    await sign_in(client, world.adam)
    owner = await template_role_id(db, "owner")
    response = await invite(client, {"emails": "ann@acme.example", "role": [str(owner)]})
    assert response.status_code == 403
    assert "Owner" in unescape(response.text)
    assert await count(db, Invitation) == 0


async def test_roles_and_groups_of_another_org_are_not_found(client, world, db):
    await sign_in(client, world.olivia)
    response = await invite(client, {"emails": "ann@acme.example", "role": [str(world.globex_role.id)]})
    assert response.status_code == 404
    response = await invite(client, {"emails": "ann@acme.example", "group": [str(world.globex_team.id)]})
    assert response.status_code == 404
    assert await count(db, Invitation) == 0


async def test_an_unconfirmed_address_cant_invite(client, world, db):
    await db.execute(update(User).where(User.id == world.adam.id).values(email_verified_at=None))
    await db.commit()
    await sign_in(client, world.adam)
    response = await invite(client, {"emails": "ann@acme.example"})
    assert response.status_code == 403
    assert "Confirm your email address first" in unescape(response.text)
    assert await count(db, Invitation) == 0


async def test_invitations_per_org_per_hour_are_limited(world_factory):
    async with world_factory(invitation_limit_per_org_hour=3) as (client, world):
        await sign_in(client, world.adam)
        ok = await invite(client, {"emails": "a@acme.example b@acme.example"})
        assert "2 invitations sent." in unescape(ok.text)
        refused = await invite(client, {"emails": "c@acme.example d@acme.example"})
        assert refused.status_code == 429
        async with client.test_sessionmaker() as db:
            assert await count(db, Invitation) == 2


async def test_the_members_page_links_to_invitations_with_the_pending_count(client, world, db):
    await make_invitation(db, world.acme, "ann@acme.example")
    await sign_in(client, world.adam)
    page = unescape((await client.get("/o/acme/members")).text)
    assert "Invite people" in page and "1 pending invitation" in page
    await sign_in(client, world.mia)
    assert "Invite people" not in (await client.get("/o/acme/members")).text


# --- resend and revoke ------------------------------------------------------------------------


async def test_resend_sends_a_new_link_and_the_old_one_dies(client, world, db):
    await sign_in(client, world.adam)
    await invite(client, {"emails": "ann@acme.example"})
    ann = await invitation_of(db, "ann@acme.example")
    [first] = await db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "ann@acme.example"))
    response = await post_form(client, f"/o/acme/invitations/{ann.id}/resend", follow_redirects=True)
    assert "A new invitation is on its way to ann@acme.example" in unescape(response.text)
    second = await db.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "ann@acme.example").order_by(OutboxMessage.id.desc())
    )
    assert second.id != first.id
    old, new = join_path(first), join_path(second)
    assert old != new
    client.cookies.clear()
    assert "This invitation link isn&#39;t valid" in (await client.get(old)).text
    assert "Join Acme" in (await client.get(new)).text


async def test_revoking_kills_the_link_and_nothing_changes_through_it(client, world, db):
    _, token = await make_invitation(db, world.acme, "ann@acme.example")
    invitation = await invitation_of(db, "ann@acme.example")
    await sign_in(client, world.adam)
    response = await post_form(client, f"/o/acme/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "The invitation to ann@acme.example was withdrawn" in unescape(response.text)
    assert "No pending invitations" in response.text
    client.cookies.clear()
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410 and "This invitation was withdrawn" in page.text
    signup = await post_form(client, f"/invite/{token}/signup", {"name": "Ann", "password": PASSWORD})
    assert "This invitation was withdrawn" in signup.text
    assert await count(db, User, User.email == "ann@acme.example") == 0
    again = await post_form(client, f"/o/acme/invitations/{invitation.id}/revoke", follow_redirects=False)
    assert again.status_code == 303, "signed out: sent to sign in, nothing else"


async def test_revoking_twice_says_it_was_no_longer_open(client, world, db):
    invitation, _ = await make_invitation(db, world.acme, "ann@acme.example")
    await sign_in(client, world.adam)
    await post_form(client, f"/o/acme/invitations/{invitation.id}/revoke")
    second = await post_form(client, f"/o/acme/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "was no longer open" in unescape(second.text)
    assert len(await events(db, "invitation.revoked")) == 1
    resend = await post_form(client, f"/o/acme/invitations/{invitation.id}/resend", follow_redirects=True)
    assert "is no longer open" in unescape(resend.text)


async def test_another_orgs_invitation_is_not_found(client, world, db):
    invitation, _ = await make_invitation(db, world.acme, "ann@acme.example")
    await sign_in(client, world.gus)
    for verb in ("resend", "revoke"):
        assert (await post_form(client, f"/o/globex/invitations/{invitation.id}/{verb}")).status_code == 404
    assert (await invitation_of(db, "ann@acme.example")).status == InvitationStatus.PENDING


# --- the join link --------------------------------------------------------------------------


async def test_a_new_address_creates_an_account_and_lands_in_the_org_with_roles_and_groups(client, world, db):
    analyst = await db.get(Role, await template_role_id(db, "analyst"))
    _, token = await make_invitation(
        db,
        world.acme,
        "nina@acme.example",
        roles=[analyst],
        groups=[world.engineering],
        inviter=world.adam,
        message="See you Monday",
    )
    page = unescape((await client.get(f"/invite/{token}")).text)
    assert "Join Acme" in page and "Adam Admin invited" in page and "nina@acme.example" in page
    assert "Analyst" in page and "Engineering" in page and "See you Monday" in page
    assert "Create account and join" in page
    assert (await client.get(f"/invite/{token}")).headers["referrer-policy"] == "no-referrer"

    weak = await post_form(client, f"/invite/{token}/signup", {"name": "Nina", "password": "short"})
    assert weak.status_code == 422 and field_error(weak.text, "password")
    assert await count(db, User, User.email == "nina@acme.example") == 0

    response = await post_form(
        client, f"/invite/{token}/signup", {"name": "Nina New", "password": PASSWORD}, follow_redirects=True
    )
    assert response.url.path == "/o/acme"
    assert "Welcome to Acme, Nina New!" in unescape(response.text)
    nina = await db.scalar(select(User).where(User.email == "nina@acme.example"))
    assert nina.email_verified_at is not None, "the click confirmed the address"
    membership = await membership_of(db, world.acme.id, "nina@acme.example")
    assert membership.status == MembershipStatus.ACTIVE
    roles = set(await db.scalars(select(MembershipRole.role_id).where(MembershipRole.membership_id == membership.id)))
    assert roles == {analyst.id}
    assert await count(db, GroupMember, GroupMember.membership_id == membership.id) == 1
    [joined] = [e for e in await events(db, "group.member_added") if e.after == {"member": "nina@acme.example"}]
    assert joined.target_id == str(world.engineering.id)
    [created] = [e for e in await events(db, "membership.created") if e.target_label == "nina@acme.example"]
    # Her own doing, said so in the log (not "Nina New added nina@acme.example").
    assert (describe(created), describe(joined)) == (
        "Nina New joined as analyst",
        "Nina New joined the group Engineering",
    )
    assert (await invitation_of(db, "nina@acme.example")).status == InvitationStatus.ACCEPTED
    # Signed in: the developer role comes through the Engineering group.
    assert "Developer" in (await client.get("/o/acme")).text

    used = await client.get(f"/invite/{token}")
    assert "You&#39;re already in Acme" in used.text
    client.cookies.clear()
    assert "This invitation has already been used" in (await client.get(f"/invite/{token}")).text


async def test_an_existing_user_is_asked_to_sign_in_with_the_address_filled_in(client, world, db):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")
    page = unescape((await client.get(f"/invite/{token}")).text)
    assert "gus@globex.example already has an account. Sign in to join." in page
    match = re.search(r'href="(/login\?[^"]+)"', page)
    login = unescape((await client.get(unescape(match.group(1)))).text)
    assert 'value="gus@globex.example"' in login
    assert f'name="next" value="/invite/{token}"' in login
    signup = await post_form(client, f"/invite/{token}/signup", {"name": "Not Gus", "password": PASSWORD})
    assert signup.status_code == 422 and "already has an account" in unescape(signup.text)


async def test_signed_in_as_the_invitee_one_click_joins(client, world, db):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")
    await sign_in(client, world.gus)
    page = unescape((await client.get(f"/invite/{token}")).text)
    assert "Join Acme" in page and "You are signed in as gus@globex.example" in page
    response = await post_form(client, f"/invite/{token}/accept", follow_redirects=True)
    assert response.url.path == "/o/acme" and "Welcome to Acme!" in unescape(response.text)
    assert (await membership_of(db, world.acme.id, "gus@globex.example")).status == MembershipStatus.ACTIVE

    again = await post_form(client, f"/invite/{token}/accept", follow_redirects=True)
    assert again.url.path == "/o/acme", "accepting twice is harmless"
    assert await count(db, Membership, Membership.user_id == world.gus.id) == 2  # Globex and Acme
    assert len(await events(db, "invitation.accepted")) == 1


async def test_accepting_confirms_an_unconfirmed_address(client, world, db):
    _, token = await make_invitation(db, world.acme, world.nora.email)
    await sign_in(client, world.nora)
    await post_form(client, f"/invite/{token}/accept")
    nora = await db.scalar(select(User).where(User.id == world.nora.id).execution_options(populate_existing=True))
    assert nora.email_verified_at is not None


async def test_signed_in_as_someone_else_explains_and_offers_to_switch(client, world, db):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")
    await sign_in(client, world.mia)
    page = text_of((await client.get(f"/invite/{token}")).text)
    assert "You are signed in as mia@acme.example, but this invitation is for gus@globex.example" in page
    assert "Sign out and continue" in page
    refused = await post_form(client, f"/invite/{token}/accept")
    assert refused.status_code == 403
    assert "This invitation is for gus@globex.example, and you are signed in as mia@acme.example." in unescape(
        refused.text
    )
    assert await membership_of(db, world.acme.id, "gus@globex.example") is None

    switched = await post_form(client, "/logout", {"next": f"/invite/{token}"}, follow_redirects=True)
    assert switched.url.path == f"/invite/{token}"
    assert "Sign in to join" in switched.text
    await sign_in(client, world.mia)
    elsewhere = await post_form(client, "/logout", {"next": "https://evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/login", "only our own pages"


async def test_an_expired_link_says_so_and_a_new_invitation_replaces_it(client, world, db, monkeypatch):
    _, token = await make_invitation(db, world.acme, "ann@acme.example", days=2)
    travel(monkeypatch, days=2, minutes=1)
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410 and "This invitation has expired" in page.text
    signup = await post_form(client, f"/invite/{token}/signup", {"name": "Ann", "password": PASSWORD})
    assert "This invitation has expired" in signup.text
    assert await count(db, User, User.email == "ann@acme.example") == 0

    await sign_in(client, world.adam)
    listed = unescape((await client.get("/o/acme/invitations")).text)
    assert "Expired" in listed
    response = await invite(client, {"emails": "ann@acme.example"})
    assert "1 invitation sent." in unescape(response.text)
    statuses = sorted(
        await db.scalars(
            select(Invitation.status)
            .where(Invitation.email == "ann@acme.example")
            .execution_options(populate_existing=True)
        )
    )
    assert statuses == ["pending", "replaced"]


async def test_an_unknown_link_changes_nothing(client, world, db):
    for token in ["nope", "x" * 300, "%00"]:
        response = await client.get(f"/invite/{token}")
        assert response.status_code == 404 and "This invitation link isn&#39;t valid" in response.text
    response = await post_form(client, "/invite/nope/signup", {"name": "Ann", "password": PASSWORD})
    assert response.status_code == 404
    assert await count(db, User) == 6


async def test_tokens_are_long_random_and_only_their_hash_is_stored(client, world, db):
    await sign_in(client, world.adam)
    await invite(client, {"emails": "ann@acme.example"})
    mail = await db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "ann@acme.example"))
    token = join_path(mail).removeprefix("/invite/")
    assert len(token) >= 22, "at least 128 bits"
    invitation = await invitation_of(db, "ann@acme.example")
    assert invitation.token_hash == hash_token(token) and token not in invitation.token_hash
    row = (await db.execute(select(Invitation.__table__).where(Invitation.id == invitation.id))).one()
    assert all(token not in str(value) for value in row)


# --- seats --------------------------------------------------------------------------------------


async def set_seats(db, limit: int | None) -> None:
    await db.execute(update(Organization).where(Organization.id == world_acme_id(db)).values(seat_limit=limit))


def world_acme_id(db):
    return select(Organization.id).where(Organization.slug == "acme").scalar_subquery()


async def test_inviting_past_the_seat_limit_is_refused_naming_the_limit(client, world, db):
    await set_seats(db, 5)  # three members already, and one pending invitation below
    await db.commit()
    await make_invitation(db, world.acme, "ann@acme.example")
    await sign_in(client, world.adam)
    response = await invite(client, {"emails": "b@acme.example c@acme.example"})
    assert response.status_code == 422
    assert field_error(response.text, "emails") == (
        "Acme has 1 free seat of 5; you are inviting 2. Invite fewer people, or move to a plan with more seats."
    )
    assert "4 of 5 seats" in unescape(response.text)
    ok = await invite(client, {"emails": "b@acme.example"})
    assert "1 invitation sent." in unescape(ok.text)
    full = await invite(client, {"emails": "c@acme.example"})
    assert field_error(full.text, "emails").startswith("Acme has 5 seats, all of them taken")
    assert await count(db, Invitation) == 2


async def test_accepting_past_the_seat_limit_is_refused_with_a_clear_sentence(client, world, db):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")
    await set_seats(db, 3)  # Olivia, Adam and Mia fill it
    await db.commit()
    await sign_in(client, world.gus)
    response = await post_form(client, f"/invite/{token}/accept")
    assert response.status_code == 422
    assert "Acme has no free seat: all 3 are taken. Ask whoever invited you to free one." in unescape(response.text)
    assert await membership_of(db, world.acme.id, "gus@globex.example") is None
    assert (await invitation_of(db, "gus@globex.example")).status == InvitationStatus.PENDING


async def test_twenty_acceptances_at_once_fill_exactly_the_five_free_seats(sessionmaker, world, db, settings):
    tokens, users = [], []
    for i in range(20):
        user = await make_user(db, f"Joiner {i}", f"joiner{i}@x.example")
        users.append(user)
        _, token = await make_invitation(db, world.acme, user.email)
        tokens.append(token)
    await set_seats(db, 3 + 5)  # three members now: five may join (set directly, past the pending invitations)
    await db.commit()

    results = await accept_all_at_once(sessionmaker, settings, [(u.id, t) for u, t in zip(users, tokens, strict=True)])
    assert results.count("joined") == 5, results
    assert {r for r in results if r != "joined"} == {
        "Acme has no free seat: all 8 are taken. Ask whoever invited you to free one."
    }
    active = await db.scalar(
        select(func.count()).where(Membership.org_id == world.acme.id, Membership.status == MembershipStatus.ACTIVE)
    )
    assert active == 8


async def test_two_tabs_accepting_at_once_give_one_membership(sessionmaker, world, db, settings):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")

    async def accept():
        async with sessionmaker() as session:
            user = await session.get(User, world.gus.id)
            actor = Actor(user_id=user.id, label="g")
            org = await accept_invitation(session, settings=settings, token=token, user=user, actor=actor)
            await asyncio.sleep(0.05)
            await session.commit()
            return org.slug

    assert await asyncio.gather(accept(), accept()) == ["acme", "acme"]
    assert await count(db, Membership, Membership.user_id == world.gus.id, Membership.org_id == world.acme.id) == 1
    assert len(await events(db, "invitation.accepted")) == 1


# --- the org's invitation settings ------------------------------------------------------------


async def test_the_default_expiry_is_the_orgs_and_can_be_changed(client, world, db):
    await sign_in(client, world.adam)
    page = await client.get("/o/acme/invitations")
    assert re.search(r'name="expiry_days"[^>]*value="7"', page.text)
    response = await post_form(client, "/o/acme/settings/policies", {"expiry_days": "14"}, follow_redirects=True)
    assert "Policies saved." in unescape(response.text)
    assert re.search(r'name="expiry_days"[^>]*value="14"', (await client.get("/o/acme/invitations")).text)
    [event] = await events(db, "org.settings_changed")
    assert event.before == {"invitation_expiry_days": None} and event.after == {"invitation_expiry_days": 14}
    bad = await post_form(client, "/o/acme/settings/policies", {"expiry_days": "45"})
    assert bad.status_code == 422 and field_error(bad.text, "expiry_days") == "Choose between 1 and 30 days."


async def test_the_seat_limit_is_set_by_plan_managers_and_cant_go_below_what_is_taken(client, world, db):
    await sign_in(client, world.mia)
    assert (await post_form(client, "/o/acme/plan/seats", {"seat_limit": "10"})).status_code == 403

    await sign_in(client, world.adam)
    assert "3 in use, no limit" in text_of((await client.get("/o/acme/plan")).text)
    low = await post_form(client, "/o/acme/plan/seats", {"seat_limit": "2"})
    assert low.status_code == 422
    assert field_error(low.text, "seat_limit").startswith("3 seats are taken now")
    ok = await post_form(client, "/o/acme/plan/seats", {"seat_limit": "10"}, follow_redirects=True)
    assert "Seat limit saved." in unescape(ok.text)
    assert "3 of 10 in use" in text_of(ok.text)
    cleared = await post_form(client, "/o/acme/plan/seats", {"seat_limit": ""}, follow_redirects=True)
    assert "the plan's applies" in unescape(cleared.text)
    changes = [(e.before, e.after) for e in await events(db, "org.seat_limit_changed")]
    assert changes == [({"seat_limit": None}, {"seat_limit": 10}), ({"seat_limit": 10}, {"seat_limit": None})]


async def test_smtp_down_while_inviting_keeps_the_invitation_and_delivers_once_when_back(
    client, world, db, sessionmaker, database_urls, backend, monkeypatch
):
    from tenantry.mail.worker import deliver_due
    from tests.conftest import base_settings
    from tests.mail_sink import free_port, start_sink

    await sign_in(client, world.adam)
    await invite(client, {"emails": "ann@acme.example"})
    port = free_port()
    smtp = base_settings(database_urls[backend], smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    await deliver_due(sessionmaker, smtp)  # nobody listens on the port
    assert (await invitation_of(db, "ann@acme.example")).status == InvitationStatus.PENDING
    listed = text_of((await client.get("/o/acme/invitations")).text)
    assert "Retrying (attempt 1)" in listed

    controller, sink = start_sink(port)
    try:
        travel(monkeypatch, minutes=1)
        await deliver_due(sessionmaker, smtp)
        travel(monkeypatch, hours=1)
        await deliver_due(sessionmaker, smtp)
        await asyncio.sleep(0.2)
    finally:
        controller.stop()
    assert [m["To"] for m in sink.messages] == ["ann@acme.example"], "exactly once"
    assert "Delivered" in text_of((await client.get("/o/acme/invitations")).text)


# --- found by review ----------------------------------------------------------------------------


async def test_a_csv_the_reader_chokes_on_is_refused_next_to_the_field(client, world, db):
    await sign_in(client, world.adam)
    broken = b'email\n"' + b"a" * 200_000 + b"\n"
    response = await invite(client, {"emails": ""}, files={"csv": ("people.csv", broken, "text/csv")})
    assert response.status_code == 422
    assert (
        field_error(response.text, "csv")
        == "This file can't be read as a CSV. Export it again, or paste the addresses."
    )
    assert await count(db, Invitation) == 0


async def test_resending_follows_the_rules_of_giving_and_of_seats(client, world, db, monkeypatch):
    owner = await db.get(Role, await template_role_id(db, "owner"))
    as_owner, _ = await make_invitation(db, world.acme, "boss@acme.example", roles=[owner])
    await sign_in(client, world.adam)
    refused = await post_form(client, f"/o/acme/invitations/{as_owner.id}/resend", follow_redirects=True)
    assert "Only owners can make someone an owner." in unescape(refused.text)
    assert len(await events(db, "invitation.resent")) == 0

    stale, _ = await make_invitation(db, world.acme, "late@acme.example", days=1)
    travel(monkeypatch, days=2)
    await set_seats(db, 4)  # three members and the owner invitation (still open): full
    await db.commit()
    await sign_in(client, world.adam)  # two days on, the earlier session has timed out
    full = await post_form(client, f"/o/acme/invitations/{stale.id}/resend", follow_redirects=True)
    assert "Acme has 4 seats, all of them taken" in unescape(full.text)
    assert (await invitation_of(db, "late@acme.example")).expires_at < as_owner.expires_at


async def test_an_old_link_of_someone_since_removed_says_it_was_used(client, world, db):
    _, token = await make_invitation(db, world.acme, "gus@globex.example")
    await sign_in(client, world.gus)
    await post_form(client, f"/invite/{token}/accept")
    await db.execute(
        update(Membership)
        .where(Membership.user_id == world.gus.id, Membership.org_id == world.acme.id)
        .values(status=MembershipStatus.INACTIVE)
    )
    await db.commit()
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410 and "This invitation has already been used" in page.text
    again = await post_form(client, f"/invite/{token}/accept", follow_redirects=False)
    assert again.status_code == 410, "no welcome into an org they can't reach"
