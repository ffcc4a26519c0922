"""Deleting an org hides it at once and keeps it for the restore window; staff can restore it;
members' requests keep its last activity up to date."""

from __future__ import annotations

import datetime
import re

from sqlalchemy import select, update

from tenantry.access.models import MembershipRole
from tenantry.accounts import sessions
from tenantry.accounts.models import User
from tenantry.audit.sentences import describe
from tenantry.groups.models import GroupMember
from tenantry.invitations.models import Invitation
from tenantry.lib.clock import utcnow
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_organization
from tests.clock import travel
from tests.integration.conftest import (
    count,
    count_queries,
    events,
    field_error,
    make_invitation,
    post_form,
    sign_in,
)


async def delete_acme(client, world) -> None:
    await sign_in(client, world.olivia)
    response = await post_form(client, "/o/acme/settings/delete", {"confirm": "acme"})
    assert "Acme has been deleted." in response.text  # the flash message is seen, and gone


async def fresh(db, model, id_):
    return await db.get(model, id_, populate_existing=True)


def use_session(client, token: str) -> None:
    client.cookies.set(sessions.SESSION_COOKIE, token, domain="testserver.local")


async def access_snapshot(db, org_id) -> set:
    """Who is in the org, in which state, with which roles and groups."""
    rows = await db.execute(
        select(Membership.user_id, Membership.status, MembershipRole.role_id)
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.org_id == org_id)
        .execution_options(populate_existing=True)
    )
    groups = await db.execute(
        select(GroupMember.group_id, Membership.user_id)
        .join(Membership, Membership.id == GroupMember.membership_id)
        .where(Membership.org_id == org_id)
    )
    return {tuple(row) for row in rows} | {("group", *row) for row in groups}


# --- deleting -------------------------------------------------------------------------------


async def test_a_deleted_org_is_gone_for_every_member_on_their_next_request(client, world, db):
    mia_token = await sign_in(client, world.mia)
    assert (await client.get("/o/acme/members")).status_code == 200  # Mia has a page open
    await delete_acme(client, world)

    for token in (mia_token, await sign_in(client, world.olivia), await sign_in(client, world.adam)):
        use_session(client, token)
        for path in ("/o/acme", "/o/acme/members", "/o/acme/settings", "/o/ACME"):
            response = await client.get(path, follow_redirects=False)
            assert response.status_code == 404, path
            assert "Acme" not in response.text, "no hint that the org exists"
        landing = await client.get("/")
        assert landing.url.path == "/orgs/new", "the landing page skips it"
        mine = await client.get("/orgs")
        assert "/o/acme" not in mine.text, "neither the switcher nor my orgs list it"
        assert "You&#39;re not in any organization yet" in mine.text

    await sign_in(client, world.gus)  # other orgs carry on
    assert (await client.get("/o/globex")).status_code == 200
    org = await fresh(db, Organization, world.acme.id)
    assert org.deleted_at is not None, "kept, only hidden"
    assert await count(db, Membership, Membership.org_id == world.acme.id) == 3


async def test_an_old_address_of_a_deleted_org_leads_nowhere(client, world, db):
    await sign_in(client, world.olivia)
    moved = await post_form(client, "/o/acme/settings/slug", {"slug": "acme-corp"}, follow_redirects=False)
    assert moved.status_code == 303
    assert (await client.get("/o/acme/members", follow_redirects=False)).status_code == 301
    response = await post_form(client, "/o/acme-corp/settings/delete", {"confirm": "acme-corp"}, follow_redirects=False)
    assert response.status_code == 303
    assert (await client.get("/o/acme/members", follow_redirects=False)).status_code == 404
    assert (await client.get("/o/acme-corp", follow_redirects=False)).status_code == 404


async def test_a_deleted_orgs_address_stays_taken_until_it_is_purged(client, world, db):
    await delete_acme(client, world)
    await sign_in(client, world.gus)
    hint = await client.get("/orgs/slug-hint", params={"slug": "acme"})
    assert "/o/acme is taken" in hint.text
    response = await post_form(client, "/orgs/new", {"name": "Acme", "slug": "acme", "brand_color": "#4f46e5"})
    assert response.status_code == 422
    assert "“acme” is already taken" in field_error(response.text, "slug")
    suggested = await client.get("/orgs/slug-hint", params={"name": "Acme"})
    assert "/o/acme-2" in suggested.text


async def test_invitations_to_a_deleted_org_answer_410(client, world, db):
    _, for_gus = await make_invitation(db, world.acme, "gus@globex.example", inviter=world.adam)
    _, for_newcomer = await make_invitation(db, world.acme, "newcomer@acme.example", inviter=world.adam)
    await delete_acme(client, world)
    client.cookies.clear()

    page = await client.get(f"/invite/{for_newcomer}")
    assert page.status_code == 410
    assert "This organization was deleted" in page.text
    signup = await post_form(
        client, f"/invite/{for_newcomer}/signup", {"name": "New Comer", "password": "a long enough passphrase"}
    )
    assert signup.status_code == 410
    assert "This organization was deleted" in signup.text
    assert await db.scalar(select(User).where(User.email == "newcomer@acme.example")) is None

    await sign_in(client, world.gus)
    assert (await client.get(f"/invite/{for_gus}")).status_code == 410
    accept = await post_form(client, f"/invite/{for_gus}/accept")
    assert accept.status_code == 410
    assert "This organization was deleted" in accept.text
    assert await count(db, Membership, Membership.org_id == world.acme.id, Membership.user_id == world.gus.id) == 0


async def test_deleting_records_who_and_until_when_it_can_be_restored(client, world, db):
    await delete_acme(client, world)
    [event] = await events(db, "org.deleted")
    assert event.actor_user_id == world.olivia.id
    until = datetime.datetime.fromisoformat(event.after["restorable_until"])
    assert abs(until - (utcnow() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=1)
    assert describe(event) == f"Olivia Owner deleted the organization acme (restorable until {until:%-d %b %Y})"


# --- restoring -------------------------------------------------------------------------------


async def test_staff_restore_brings_the_org_back_exactly_as_it_was(client, world, db, monkeypatch):
    invitation, token = await make_invitation(db, world.acme, "later@acme.example", inviter=world.adam, days=60)
    before = await access_snapshot(db, world.acme.id)
    await delete_acme(client, world)
    travel(monkeypatch, days=29)

    await sign_in(client, world.sam)
    listing = await client.get("/staff/orgs/deleted")
    assert listing.status_code == 200
    row = re.search(rf'<tr id="org-{world.acme.id}">(.*?)</tr>', listing.text, re.S).group(1)
    assert "Acme" in row and "/o/acme" in row
    assert "by Olivia Owner" in row
    assert "1 day left" in row
    restored = await post_form(client, f"/staff/orgs/{world.acme.id}/restore")
    assert restored.url.path == "/staff/orgs/deleted"
    assert "Acme is restored" in restored.text
    assert "No deleted organizations" in restored.text

    assert (await fresh(db, Organization, world.acme.id)).deleted_at is None
    assert await access_snapshot(db, world.acme.id) == before, "members, roles and groups as they were"
    [event] = await events(db, "org.restored")
    assert event.actor_user_id == world.sam.id and event.org_id == world.acme.id
    assert describe(event) == "Sam Support restored the organization acme"

    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/members")).status_code == 200
    assert "/o/acme" in (await client.get("/orgs")).text
    await sign_in(client, world.adam)  # an admin again, with Engineering's Developer role too
    assert (await client.get("/o/acme/settings")).status_code == 200
    client.cookies.clear()
    join = await client.get(f"/invite/{token}")
    assert join.status_code == 200, "the pending invitation works again"
    assert (await fresh(db, Invitation, invitation.id)).status == invitation.status


async def test_restore_is_refused_once_the_window_has_ended(client, world, db, monkeypatch):
    await delete_acme(client, world)
    travel(monkeypatch, days=30, minutes=1)
    await sign_in(client, world.sam)
    listing = await client.get("/staff/orgs/deleted")
    assert "Window ended" in listing.text
    assert f"/staff/orgs/{world.acme.id}/restore" not in listing.text, "no button for what can't be done"
    refused = await post_form(client, f"/staff/orgs/{world.acme.id}/restore")
    assert refused.status_code == 422
    assert "Acme can no longer be restored: its 30-day restore window ended on" in refused.text
    assert (await fresh(db, Organization, world.acme.id)).deleted_at is not None
    assert await events(db, "org.restored") == []


async def test_restoring_an_org_that_is_not_deleted_or_does_not_exist(client, world, db):
    await sign_in(client, world.sam)
    live = await post_form(client, f"/staff/orgs/{world.acme.id}/restore")
    assert live.status_code == 422
    assert "Acme is not deleted" in live.text
    missing = await post_form(client, "/staff/orgs/00000000-0000-7000-8000-000000000000/restore")
    assert missing.status_code == 404
    assert await events(db, "org.restored") == []


async def test_the_restore_window_follows_the_setting(world_factory, monkeypatch):
    async with world_factory(org_restore_days=2) as (client, world):
        await delete_acme(client, world)
        travel(monkeypatch, days=2, minutes=1)
        await sign_in(client, world.sam)
        refused = await post_form(client, f"/staff/orgs/{world.acme.id}/restore")
        assert "its 2-day restore window ended" in refused.text


async def test_deleted_orgs_page_is_staff_only(client, world, db):
    await delete_acme(client, world)
    for who in (world.olivia, world.gus):
        await sign_in(client, who)
        assert (await client.get("/staff/orgs/deleted")).status_code == 404
        response = await post_form(client, f"/staff/orgs/{world.acme.id}/restore")
        assert response.status_code == 404
    assert (await fresh(db, Organization, world.acme.id)).deleted_at is not None
    await sign_in(client, world.sam)
    activity = await client.get("/staff/activity")
    assert 'href="/staff/orgs/deleted"' in activity.text, "linked from staff's activity page"
    assert 'Acme <a class="small" href="/staff/orgs/deleted">(deleted)</a>' in activity.text
    assert "Olivia Owner deleted the organization acme (restorable until" in activity.text


async def test_deleted_orgs_page_empty_state(client, world):
    await sign_in(client, world.sam)
    page = await client.get("/staff/orgs/deleted")
    assert page.status_code == 200
    assert "No deleted organizations" in page.text


async def test_deleted_orgs_page_pages_by_keyset_with_constant_queries(client, world, db, app_engine, monkeypatch):
    from tenantry.audit.services import Actor

    async def delete_orgs(n: int, start: int) -> None:
        olivia = await db.get(User, world.olivia.id)
        for i in range(start, start + n):
            name, slug = f"Org {i:02}", f"org-{i:02}"
            org = await create_organization(
                db, creator=olivia, name=name, slug=slug, brand_color="", logo=None, actor=Actor.system()
            )
            org.deleted_at = utcnow() - datetime.timedelta(hours=i)
        await db.commit()

    await delete_orgs(3, 0)
    await sign_in(client, world.sam)
    await client.get("/staff/orgs/deleted")
    with count_queries(app_engine) as few:
        small = await client.get("/staff/orgs/deleted")
    await delete_orgs(40, 3)
    with count_queries(app_engine) as many:
        first = await client.get("/staff/orgs/deleted")
    assert first.status_code == 200 and small.status_code == 200
    assert many.count == few.count, many.statements

    seen = re.findall(r"<strong>(Org \d+)</strong>", first.text)
    assert seen[:3] == ["Org 00", "Org 01", "Org 02"], "most recently deleted first"
    next_link = re.search(r'href="(/staff/orgs/deleted\?cursor=[^"]+)" rel="next"', first.text).group(1)
    second = await client.get(next_link.replace("&amp;", "&"))
    seen += re.findall(r"<strong>(Org \d+)</strong>", second.text)
    assert sorted(seen) == [f"Org {i:02}" for i in range(43)], "every org once, none twice"
    stale = await client.get("/staff/orgs/deleted", params={"cursor": "not-a-cursor"})
    assert stale.status_code == 200


# --- last activity ---------------------------------------------------------------------------


async def test_last_activity_is_noted_at_most_every_five_minutes(client, world, db, app_engine, monkeypatch):
    assert (await fresh(db, Organization, world.acme.id)).last_activity_at is None
    await sign_in(client, world.gus)
    assert (await client.get("/o/acme")).status_code == 404
    assert (await fresh(db, Organization, world.acme.id)).last_activity_at is None, "not by a non-member"

    await sign_in(client, world.mia)
    await client.get("/o/acme")
    first = (await fresh(db, Organization, world.acme.id)).last_activity_at
    assert abs(first - utcnow()) < datetime.timedelta(seconds=30)
    updated_at = (await fresh(db, Organization, world.acme.id)).updated_at

    def bumps(counter) -> list[str]:
        return [s for s in counter.statements if "SET last_activity_at" in s]

    travel(monkeypatch, minutes=4)
    with count_queries(app_engine) as counter:
        await client.get("/o/acme/members")
    assert (await fresh(db, Organization, world.acme.id)).last_activity_at == first
    assert bumps(counter) == [], "nothing to do within five minutes: no statement at all"

    travel(monkeypatch, minutes=2)
    with count_queries(app_engine) as counter:
        await client.get("/o/acme/members")
    [bump] = bumps(counter)
    assert "last_activity_at IS NULL OR organizations.last_activity_at <" in bump, "one conditional UPDATE"
    later = (await fresh(db, Organization, world.acme.id)).last_activity_at
    assert later - first >= datetime.timedelta(minutes=6)
    assert (await fresh(db, Organization, world.acme.id)).updated_at == updated_at, "activity is not an edit"
    assert (await fresh(db, Organization, world.globex.id)).last_activity_at is None


async def test_staff_see_the_last_activity_of_a_deleted_org(client, world, db, monkeypatch):
    await sign_in(client, world.mia)
    await client.get("/o/acme")
    travel(monkeypatch, days=3)
    await db.execute(update(Organization).values(deleted_at=utcnow()))
    await db.commit()
    await sign_in(client, world.sam)
    page = await client.get("/staff/orgs/deleted")
    acme = re.search(rf'<tr id="org-{world.acme.id}">(.*?)</tr>', page.text, re.S).group(1)
    assert "3 days ago" in acme
    globex = re.search(rf'<tr id="org-{world.globex.id}">(.*?)</tr>', page.text, re.S).group(1)
    assert "No activity on record" in globex


async def test_mail_queued_before_the_deletion_still_goes_out_and_its_link_says_why(
    client, world, db, sessionmaker, settings
):
    from tenantry.mail.models import OutboxMessage
    from tenantry.mail.worker import deliver_due
    from tests.integration.test_invitations import invite, join_path
    from tests.integration.test_mail_delivery import Recorder

    await sign_in(client, world.adam)
    assert (await invite(client, {"emails": "late@acme.example"})).status_code in (200, 303)
    await delete_acme(client, world)
    transport = Recorder()
    assert await deliver_due(sessionmaker, settings, transport) == 1, "the outbox keeps working"
    mail = await db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "late@acme.example"))
    client.cookies.clear()
    gone = await client.get(join_path(mail))
    assert gone.status_code == 410
    assert "This organization was deleted" in gone.text
