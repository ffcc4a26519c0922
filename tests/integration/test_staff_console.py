"""The support console's detail pages: an org as support sees it, a user's account, orgs and
sessions, and what staff do for a user (sign out everywhere, resend the confirmation link)."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select, update

from tenantry.accounts.models import User, UserSession
from tenantry.audit.models import AuditEvent
from tenantry.audit.sentences import describe
from tenantry.audit.services import Actor, record_event
from tenantry.lib.clock import utcnow
from tenantry.mail.models import OutboxMessage, OutboxStatus
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.plans.models import PlanOverride
from tenantry.support.console import sign_out_everywhere
from tests.integration.conftest import (
    count,
    count_queries,
    events,
    make_invitation,
    make_user,
    post_form,
    sign_in,
)


def text_of(html: str) -> str:
    """The page's words as a reader sees them: each tag a space, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def row_of(html: str, row_id: str) -> str:
    """The text of one table row, by its id."""
    match = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return text_of(match.group(1))


def section_of(html: str, section_id: str) -> str:
    match = re.search(rf'<section [^>]*id="{re.escape(section_id)}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return text_of(match.group(1))


def message(invitation, status: str, *, attempts: int = 1, error: str = "", sent: bool = False) -> OutboxMessage:
    return OutboxMessage(
        kind="invitation",
        to_address=invitation.email,
        subject="Join Acme",
        text_body="",
        html_body="",
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        status=status,
        attempts=attempts,
        last_error=error,
        sent_at=utcnow() if sent else None,
    )


async def deactivate(db, membership_id) -> None:
    await db.execute(update(Membership).where(Membership.id == membership_id).values(status=MembershipStatus.INACTIVE))
    await db.commit()


# --- the org page -------------------------------------------------------------------------------


async def test_the_org_page_shows_members_plan_settings_invitations_and_activity(client, world, db):
    delivered, _ = await make_invitation(db, world.acme, "dora@acme.example", inviter=world.adam)
    bounced, _ = await make_invitation(db, world.acme, "bounce@acme.example", inviter=world.adam)
    db.add(message(delivered, OutboxStatus.FAILED, attempts=2, error="connection refused"))  # an older try
    await db.flush()
    db.add(message(delivered, OutboxStatus.SENT, sent=True))  # the resend got through: it is what counts
    db.add(message(bounced, OutboxStatus.FAILED, attempts=3, error="550 mailbox unavailable"))
    db.add(OrgSettingsOverrides(org_id=world.acme.id, invitation_expiry_days=14))
    db.add(PlanOverride(org_id=world.acme.id, extra_seats=3, extra_features=[], note="ticket 4711"))
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(plan_key="team"))
    await db.commit()
    await deactivate(db, world.memberships["mia"].id)

    await sign_in(client, world.sam)
    response = await client.get(f"/staff/orgs/{world.acme.id}")
    assert response.status_code == 200
    html = response.text
    page = text_of(html)
    assert "Acme /o/acme" in page and "On the Team plan" in page

    members = section_of(html, "members")
    assert "2 active members · 1 deactivated" in members
    assert "Owner" in row_of(html, f"member-{world.memberships['olivia'].id}")
    adam = row_of(html, f"member-{world.memberships['adam'].id}")
    assert "adam@acme.example" in adam and "Admin" in adam and "Active" in adam
    mia = row_of(html, f"member-{world.memberships['mia'].id}")
    assert "mia@acme.example" in mia and "Member" in mia and "Deactivated" in mia
    assert f'href="/staff/users/{world.mia.id}"' in html

    plan = section_of(html, "plan")
    assert "3 extra seats" in plan and "ticket 4711" in plan and "with no end date" in plan
    assert "4 of 13 in use" in plan, "2 active members and 2 invitations, of the Team plan's 10 and 3 more"
    assert f'href="/staff/orgs/{world.acme.id}/plan"' in html

    settings = section_of(html, "settings")
    assert "Invitation links stay valid for 14 days this organization" in settings
    assert "Members see each other yes deployment default" in settings

    invitations = section_of(html, "invitations")
    assert "2 invitations not yet accepted" in invitations
    dora = row_of(html, f"invitation-{delivered.id}")
    assert "sent" in dora and "failed" not in dora and "connection refused" not in dora
    bounce = row_of(html, f"invitation-{bounced.id}")
    assert "failed after 3 attempts: 550 mailbox unavailable" in bounce

    activity = section_of(html, "activity")
    assert "tests created the organization acme" in activity
    assert "tests added mia@acme.example as member" in activity


async def test_the_org_page_of_a_quiet_org_says_so_in_each_section(client, world, db):
    # Made directly, without the verbs: an org with no event at all (audit_events is append-only).
    quiet = Organization(name="Quiet", slug="quiet")
    db.add(quiet)
    await db.flush()
    db.add(Membership(org_id=quiet.id, user_id=world.gus.id, status="inactive"))
    await db.commit()
    await sign_in(client, world.sam)
    html = (await client.get(f"/staff/orgs/{quiet.id}")).text
    assert "No pending invitations" in section_of(html, "invitations")
    assert "No activity yet" in section_of(html, "activity")
    assert "0 active members · 1 deactivated" in section_of(html, "members")
    assert "None: the plan alone applies." in section_of(html, "plan")


async def test_a_deleted_org_is_marked_and_points_to_the_restore_list(client, world, db):
    await db.execute(update(Organization).where(Organization.id == world.globex.id).values(deleted_at=utcnow()))
    await db.commit()
    await sign_in(client, world.sam)
    html = (await client.get(f"/staff/orgs/{world.globex.id}")).text
    assert "deleted" in text_of(html) and 'href="/staff/orgs/deleted"' in html


async def test_the_org_directory_finds_an_org_by_an_active_members_email(client, world, db):
    await sign_in(client, world.sam)

    async def found(q: str) -> set[str]:
        html = (await client.get("/staff/orgs", params={"q": q})).text
        return {name for name in ("Acme", "Globex") if f">{name}<" in html}

    assert await found("mia@acme") == {"Acme"}
    assert await found("GUS@GLOBEX.example") == {"Globex"}
    assert await found(".example") == {"Acme", "Globex"}, "each org once, however many members match"
    assert await found("nobody@") == set()
    html = (await client.get("/staff/orgs", params={"q": "mia@"})).text
    assert f'href="/staff/orgs/{world.acme.id}"' in html

    await deactivate(db, world.memberships["mia"].id)
    assert await found("mia@acme") == set(), "a deactivated member no longer leads to the org"


# --- the user page ------------------------------------------------------------------------------


async def test_the_user_page_shows_orgs_roles_and_live_sessions(client, world, db):
    await sign_in(
        client, world.adam, user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    )
    await sign_in(client, world.sam)
    html = (await client.get(f"/staff/users/{world.adam.id}")).text
    acme = row_of(html, f"org-{world.acme.id}")
    assert "Acme" in acme and "Admin" in acme and "Active" in acme
    assert f'href="/staff/orgs/{world.acme.id}"' in html
    sessions = section_of(html, "sessions")
    assert "1 browser signed in now." in sessions and "Firefox on Linux" in sessions and "IP 127.0.0.1" in sessions
    assert f'action="/staff/users/{world.adam.id}/sessions/end"' in html
    assert 'data-confirm="Sign Adam Admin out everywhere?"' in html
    account = section_of(html, "account")
    assert "confirmed" in account and "not confirmed" not in account
    assert f'action="/staff/users/{world.adam.id}/verification"' not in html, "no resend for a confirmed address"
    assert f'href="/staff/users/{world.adam.id}/metadata"' in html

    await deactivate(db, world.memberships["mia"].id)
    html = (await client.get(f"/staff/users/{world.mia.id}")).text
    assert "Deactivated" in row_of(html, f"org-{world.acme.id}")
    assert "Not signed in anywhere" in section_of(html, "sessions")
    assert "/sessions/end" not in html

    listing = (await client.get("/staff/users", params={"q": "adam"})).text
    assert f'href="/staff/users/{world.adam.id}"' in listing


async def test_an_unconfirmed_user_gets_a_resend_button_and_staff_their_role(client, world):
    await sign_in(client, world.sam)
    nora = text_of((await client.get(f"/staff/users/{world.nora.id}")).text)
    assert "not confirmed" in nora and "Resend the confirmation link" in nora
    sam = text_of((await client.get(f"/staff/users/{world.sam.id}")).text)
    assert "Staff role support" in sam


# --- sign out everywhere ------------------------------------------------------------------------


async def test_sign_out_everywhere_ends_every_session_with_one_event(client, world, db):
    laptop = await sign_in(client, world.mia, user_agent="laptop")
    await sign_in(client, world.mia, user_agent="phone")
    await sign_in(client, world.sam)

    response = await post_form(client, f"/staff/users/{world.mia.id}/sessions/end")
    assert response.status_code == 200  # followed to the user page
    assert "mia@acme.example is signed out everywhere (2 sessions ended)." in text_of(response.text)
    assert "Not signed in anywhere" in section_of(response.text, "sessions"), "Sam is still signed in"
    assert await count(db, UserSession, UserSession.user_id == world.mia.id) == 0

    (event,) = await events(db, "user.sessions_ended_by_staff")
    assert event.actor_user_id == world.sam.id and event.target_label == "mia@acme.example"
    assert event.after == {"sessions_ended": 2} and event.org_id is None
    assert describe(event) == "Sam Support signed mia@acme.example out everywhere (2 sessions)"

    client.cookies.set("tenantry_session", laptop, domain="testserver.local")
    response = await client.get("/o/acme", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")

    await sign_in(client, world.mia)
    assert "Sam Support signed mia@acme.example out everywhere" in text_of((await client.get("/account/activity")).text)


async def test_signing_out_a_user_with_no_session_changes_nothing(client, world, db):
    await sign_in(client, world.sam)
    response = await post_form(client, f"/staff/users/{world.mia.id}/sessions/end")
    assert "mia@acme.example wasn't signed in anywhere: nothing to end." in text_of(response.text)
    assert await events(db, "user.sessions_ended_by_staff") == []


async def test_the_sessions_and_their_event_share_one_transaction(sessionmaker, settings, world):
    async with sessionmaker() as db:
        from tenantry.accounts.sessions import create_session

        create_session(db, user=world.mia, settings=settings, ip="10.0.0.1", user_agent="laptop")
        await db.commit()
    staff = Actor(user_id=world.sam.id, label="Sam Support <sam@vendor.example>")
    async with sessionmaker() as db:
        _, ended = await sign_out_everywhere(db, settings=settings, user_id=world.mia.id, actor=staff)
        assert ended == 1
        await db.rollback()  # e.g. the response failed: neither the sign-out nor its event remains
    async with sessionmaker() as db:
        assert await count(db, UserSession, UserSession.user_id == world.mia.id) == 1
        assert await count(db, AuditEvent, AuditEvent.action == "user.sessions_ended_by_staff") == 0


async def test_only_a_support_admin_signs_out_a_staff_account(client, world, db):
    stan = await make_user(db, "Stan Staff", "stan@vendor.example", staff_role="support")
    ada = await make_user(db, "Ada Admin", "ada@vendor.example", staff_role="support-admin")
    await db.commit()
    await sign_in(client, stan)
    await sign_in(client, world.sam)

    html = (await client.get(f"/staff/users/{stan.id}")).text
    assert "Only support-admin staff can sign a staff account out." in text_of(html)
    assert "/sessions/end" not in html
    response = await post_form(client, f"/staff/users/{stan.id}/sessions/end")
    assert response.status_code == 403
    assert "Only support-admin staff can sign a staff account out." in text_of(response.text)
    assert await count(db, UserSession, UserSession.user_id == stan.id) == 1
    assert await events(db, "user.sessions_ended_by_staff") == []

    await sign_in(client, ada)
    response = await post_form(client, f"/staff/users/{stan.id}/sessions/end", follow_redirects=False)
    assert response.status_code == 303
    assert await count(db, UserSession, UserSession.user_id == stan.id) == 0


# --- resend the confirmation link ---------------------------------------------------------------


async def test_staff_resend_the_confirmation_link_of_an_unconfirmed_user(client, world, db):
    await sign_in(client, world.sam)
    response = await post_form(client, f"/staff/users/{world.nora.id}/verification")
    assert "A new confirmation link is on its way to nora@newcomer.example." in text_of(response.text)
    (mail,) = list(await db.scalars(select(OutboxMessage)))
    assert mail.kind == "verify_email" and mail.to_address == "nora@newcomer.example"
    assert "/verify-email/" in mail.text_body
    (event,) = await events(db, "user.verification_resent_by_staff")
    assert event.actor_user_id == world.sam.id and event.target_label == "nora@newcomer.example"
    assert describe(event) == "Sam Support sent a new confirmation link to nora@newcomer.example"

    link = re.search(r"/verify-email/\S+", mail.text_body).group(0)
    await sign_in(client, world.nora)
    await client.get(link)
    verified = await db.scalar(
        select(User.email_verified_at).where(User.id == world.nora.id).execution_options(populate_existing=True)
    )
    assert verified is not None, "the link works"


async def test_resending_to_a_confirmed_user_changes_nothing(client, world, db):
    await sign_in(client, world.sam)
    response = await post_form(client, f"/staff/users/{world.mia.id}/verification")
    assert "mia@acme.example is already confirmed: nothing was sent." in text_of(response.text)
    assert await count(db, OutboxMessage) == 0
    assert await events(db, "user.verification_resent_by_staff") == []


# --- staff only -----------------------------------------------------------------------------


async def test_every_console_route_is_404_for_anyone_but_staff(client, world, db):
    await sign_in(client, world.mia, user_agent="laptop")
    routes = [
        ("GET", f"/staff/orgs/{world.acme.id}"),
        ("GET", f"/staff/users/{world.mia.id}"),
        ("POST", f"/staff/users/{world.mia.id}/sessions/end"),
        ("POST", f"/staff/users/{world.nora.id}/verification"),
    ]
    for who in (world.olivia, world.adam, world.gus):
        await sign_in(client, who)
        for method, path in routes:
            response = await (client.get(path) if method == "GET" else post_form(client, path))
            assert response.status_code == 404, (who.name, method, path)
            if who == world.gus:
                assert "Acme" not in response.text, "nothing about an org that isn't his"
    assert await count(db, UserSession, UserSession.user_id == world.mia.id) == 1
    assert await count(db, OutboxMessage) == 0
    assert await events(db, "user.sessions_ended_by_staff") == []


async def test_unknown_ids_are_404_for_staff(client, world):
    await sign_in(client, world.sam)
    assert (await client.get(f"/staff/orgs/{world.mia.id}")).status_code == 404
    assert (await client.get(f"/staff/users/{world.acme.id}")).status_code == 404
    assert (await post_form(client, f"/staff/users/{world.acme.id}/sessions/end")).status_code == 404
    assert (await post_form(client, f"/staff/users/{world.acme.id}/verification")).status_code == 404


# --- the same statements for a small org and a big one ------------------------------------------


async def grow_acme(db, world, first: int, last: int) -> None:
    """People numbered first..last-1 join Acme, each invited someone (the email sent twice) and
    left an event."""
    for n in range(first, last):
        person = await make_user(db, f"Person {n:03}", f"person{n:03}@acme.example")
        db.add(Membership(org_id=world.acme.id, user_id=person.id, status="active", sort_name=f"person {n:03}"))
        await db.commit()
        invitation, _ = await make_invitation(db, world.acme, f"guest{n:03}@acme.example")
        db.add(message(invitation, OutboxStatus.FAILED, attempts=4, error="timeout"))
        await db.flush()
        db.add(message(invitation, OutboxStatus.SENT, sent=True))
        record_event(db, actor=Actor.system("tests"), action="org.renamed", org_id=world.acme.id, after={"name": "x"})
        await db.commit()


async def test_the_org_page_runs_the_same_statements_for_a_small_or_a_big_org(client, world, db, app_engine):
    await sign_in(client, world.sam)
    await client.get("/staff/orgs")  # the session's first request records its address: not the page's cost
    await grow_acme(db, world, 0, 3)
    with count_queries(app_engine) as few:
        small = await client.get(f"/staff/orgs/{world.acme.id}")
    await grow_acme(db, world, 3, 70)
    with count_queries(app_engine) as many:
        big = await client.get(f"/staff/orgs/{world.acme.id}")
    assert small.status_code == big.status_code == 200
    assert "Showing the first 50 of 73 members" in text_of(big.text)
    assert "Showing the newest 50 of 70" in text_of(big.text)
    assert text_of(big.text).count("renamed the organization") == 20
    assert many.count == few.count, "\n".join(s[:120] for s in [*few.statements, "----", *many.statements])


async def test_the_user_page_runs_the_same_statements_for_1_or_12_orgs(client, world, db, app_engine, settings):
    from tenantry.accounts.sessions import create_session

    async def join_orgs(numbers: range) -> None:
        for n in numbers:
            org = Organization(name=f"Org {n:02}", slug=f"org-{n:02}")
            db.add(org)
            await db.flush()
            db.add(Membership(org_id=org.id, user_id=world.gus.id, status="active", sort_name="gus"))
            create_session(db, user=world.gus, settings=settings, ip=f"10.0.0.{n}", user_agent="browser")
        await db.commit()

    await sign_in(client, world.sam)
    await client.get("/staff/users")
    await join_orgs(range(1))
    with count_queries(app_engine) as few:
        small = await client.get(f"/staff/users/{world.gus.id}")
    await join_orgs(range(1, 12))
    with count_queries(app_engine) as many:
        big = await client.get(f"/staff/users/{world.gus.id}")
    assert "1 browser signed in now" in text_of(small.text) and "12 browsers signed in now" in text_of(big.text)
    assert "13 in all" in text_of(big.text)
    assert many.count == few.count, "\n".join(s[:120] for s in [*few.statements, "----", *many.statements])
