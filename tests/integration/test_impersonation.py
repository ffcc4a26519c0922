"""Impersonation: staff view the portal as a customer, read-only by default, for a limited time,
with the customer's say over it (the org's support access setting) and every step on record."""

from __future__ import annotations

import datetime
from html import unescape

import pytest
from sqlalchemy import select

from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import template_role
from tenantry.accounts.models import User, UserSession
from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotPermitted
from tenantry.mail.models import OutboxMessage
from tenantry.mail.worker import end_overdue_impersonations
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.support import services
from tenantry.support.models import Impersonation
from tests.clock import travel
from tests.integration.conftest import count, events, field_error, make_user, post_form, sign_in

REASON = "Customer reports the members page shows the wrong roles"


async def make_support_admin(sessionmaker) -> User:
    async with sessionmaker() as db:
        ada = await make_user(db, "Ada Escalation", "ada@vendor.example", staff_role="support-admin")
        await db.commit()
    return ada


async def set_support_access(sessionmaker, org: Organization, policy: str | None) -> None:
    async with sessionmaker() as db:
        row = await db.get(OrgSettingsOverrides, org.id) or OrgSettingsOverrides(org_id=org.id)
        row.support_access = policy
        db.add(row)
        await db.commit()


async def start_from_org(client, org, **fields):
    data = {"reason": REASON, "minutes": "30", **fields}
    return await post_form(client, f"/staff/orgs/{org.id}/impersonate", data, follow_redirects=False)


async def impersonations(db) -> list[Impersonation]:
    return list(await db.scalars(select(Impersonation).execution_options(populate_existing=True)))


async def test_support_views_an_org_as_its_owner_with_a_banner_and_a_trail(client, world, db):
    await sign_in(client, world.sam)
    page = await client.get(f"/staff/orgs/{world.acme.id}/impersonate")
    assert page.status_code == 200
    assert "Olivia Owner" in page.text  # who they are about to see as

    started = await start_from_org(client, world.acme, ticket="SUP-12")
    assert started.status_code == 303
    assert started.headers["location"] == "/o/acme"

    home = await client.get("/o/acme")
    assert home.status_code == 200
    assert "Support view" in home.text
    assert "You are Sam Support, viewing as" in home.text
    assert "Read-only" in home.text
    assert "30 minutes left" in home.text
    assert "End impersonation" in home.text

    (row,) = await impersonations(db)
    assert row.target_user_id == world.olivia.id and row.staff_user_id == world.sam.id
    assert row.expires_at - row.started_at == datetime.timedelta(minutes=30)
    (start,) = await events(db, "support.impersonation_started")
    assert start.org_id == world.acme.id
    assert start.actor_user_id == world.sam.id
    assert start.after["reason"] == REASON and start.after["ticket"] == "SUP-12"
    trail = await events(db, "support.request")
    assert trail, "each request is on record"
    home_request = next(e for e in trail if e.after["path"] == "/o/acme")
    assert home_request.org_id == world.acme.id
    assert home_request.actor_user_id == world.olivia.id
    assert home_request.impersonator_user_id == world.sam.id
    assert home_request.after == {
        "method": "GET",
        "path": "/o/acme",
        "status": 200,
        "impersonation_id": str(row.id),
    }


async def test_every_page_in_the_impersonation_carries_the_banner(client, world):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    for path in ("/o/acme/members", "/o/acme/settings", "/account", "/orgs", "/o/acme/activity"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "viewing as" in response.text and "End impersonation" in response.text, path


async def test_read_only_refuses_a_change_with_a_clear_message_and_changes_nothing(client, world, db):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    response = await post_form(client, "/o/acme/settings/name", {"name": "Hacked"}, follow_redirects=False)
    assert response.status_code == 403
    assert "read-only mode, so nothing was changed" in response.text
    acme = await db.get(Organization, world.acme.id, populate_existing=True)
    assert acme.name == "Acme"
    refused = [e for e in await events(db, "support.request") if e.after["method"] == "POST"]
    assert refused[-1].after["status"] == 403


async def test_a_refused_htmx_change_says_why_in_a_header(client, world):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    response = await post_form(
        client, "/o/acme/settings/name", {"name": "Hacked"}, headers={"hx-request": "true"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "read-only" in response.headers["x-problem"].replace("%20", " ")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": "because"}, "reason", "at least 10 characters"),
        ({"minutes": "90"}, "minutes", "between 1 and 60"),
        ({"minutes": "soon"}, "minutes", "whole number"),
        ({"write": "on", "write_reason": "fix the roles for them"}, "write", "Only support-admins"),
    ],
)
async def test_a_bad_start_says_so_next_to_the_field_and_starts_nothing(client, world, db, fields, field, message):
    await sign_in(client, world.sam)
    response = await start_from_org(client, world.acme, **fields)
    assert response.status_code in (403, 422)
    assert message in (field_error(response.text, field) or response.text)
    assert await impersonations(db) == []
    assert await events(db, "support.impersonation_started") == []


async def test_a_support_admin_with_write_access_changes_things_with_both_names_on_record(
    client, world, db, sessionmaker
):
    ada = await make_support_admin(sessionmaker)
    await sign_in(client, ada)
    refused = await start_from_org(client, world.acme, write="on", write_reason="short")
    assert refused.status_code == 422
    assert "at least 10 characters" in field_error(refused.text, "write_reason")

    await start_from_org(client, world.acme, write="on", write_reason="The owner asked us to fix the name")
    home = await client.get("/o/acme")
    assert "Write access" in home.text
    renamed = await post_form(client, "/o/acme/settings/name", {"name": "Acme Corp"}, follow_redirects=False)
    assert renamed.status_code == 303
    (event,) = await events(db, "org.renamed")
    assert event.actor_user_id == world.olivia.id
    assert event.impersonator_user_id == ada.id
    assert "Ada Escalation (support, as Olivia Owner)" in event.actor_label


async def test_staff_cant_impersonate_staff(client, world, db, sessionmaker):
    ada = await make_support_admin(sessionmaker)
    await sign_in(client, world.sam)
    response = await post_form(
        client, f"/staff/users/{ada.id}/impersonate", {"reason": REASON, "minutes": "30"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "Staff can't impersonate staff" in unescape(response.text)
    assert await impersonations(db) == []


async def test_no_impersonation_inside_another(client, world, db, settings):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    # In the impersonation Sam is Olivia: the staff console isn't there.
    inner = await post_form(
        client, f"/staff/users/{world.gus.id}/impersonate", {"reason": REASON, "minutes": "30"}, follow_redirects=False
    )
    assert inner.status_code in (403, 404)
    # And the verb itself refuses, whoever calls it.
    (row,) = await impersonations(db)
    session = await db.get(UserSession, row.staff_session_id)
    with pytest.raises(NotPermitted):
        await services.start_impersonation(
            db,
            settings=settings,
            session=session,
            choices=services.StartChoices(reason=REASON),
            actor=Actor(user_id=world.sam.id, label="Sam"),
            user_id=world.gus.id,
        )
    assert len(await impersonations(db)) == 1


async def test_ending_restores_the_staff_identity_and_tells_the_customers_log(client, world, db):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    ended = await post_form(client, "/staff/impersonation/end", follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == f"/staff/orgs/{world.acme.id}"
    account = await client.get("/account")
    assert "sam@vendor.example" in account.text
    assert "End impersonation" not in account.text
    assert (await client.get("/staff/orgs")).status_code == 200
    (end,) = await events(db, "support.impersonation_ended")
    assert end.org_id == world.acme.id
    (row,) = await impersonations(db)
    assert row.ended_at is not None and row.end_cause == "ended"


async def test_the_time_running_out_restores_the_staff_identity(client, world, db, monkeypatch):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme, minutes="15")
    travel(monkeypatch, minutes=14)
    assert "viewing as" in (await client.get("/o/acme")).text
    travel(monkeypatch, minutes=2)
    page = await client.get("/account")
    assert "sam@vendor.example" in page.text
    assert "its time ran out" in page.text
    assert (await client.get("/o/acme")).status_code == 404  # Sam isn't a member of Acme
    (expired,) = await events(db, "support.impersonation_expired")
    assert expired.org_id == world.acme.id
    assert expired.after["minutes"] == 15
    (row,) = await impersonations(db)
    assert row.end_cause == "expired" and row.ended_at == row.expires_at


async def test_signing_out_ends_the_impersonation_first(client, world, db):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    response = await post_form(client, "/logout", follow_redirects=False)
    assert response.status_code == 303
    (row,) = await impersonations(db)
    assert row.ended_at is not None
    (signed_out,) = await events(db, "user.signed_out")
    assert signed_out.actor_user_id == world.sam.id and signed_out.impersonator_user_id is None


async def test_the_customers_admins_read_the_visit_in_their_activity_log(client, world):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme, ticket="SUP-77")
    await client.get("/o/acme/members")
    await post_form(client, "/staff/impersonation/end")
    await sign_in(client, world.olivia)
    log = (await client.get("/o/acme/activity?action=support")).text
    assert "Sam Support started viewing as olivia@acme.example, read-only, for up to 30 minutes" in log
    assert REASON in log and "SUP-77" in log
    assert "opened GET /o/acme/members → 200" in log
    assert "stopped viewing as olivia@acme.example" in log


# --- the customer's say: support access ------------------------------------------------------------


async def test_an_org_that_refused_keeps_support_out_but_a_support_admin_may_break_the_glass(
    client, world, db, sessionmaker
):
    await set_support_access(sessionmaker, world.acme, "refused")
    await sign_in(client, world.sam)
    refused = await start_from_org(client, world.acme)
    assert refused.status_code == 403
    assert "turned support access off" in refused.text

    ada = await make_support_admin(sessionmaker)
    await sign_in(client, ada)
    page = await client.get(f"/staff/orgs/{world.acme.id}/impersonate")
    assert "Break-glass reason" in page.text
    missing = await start_from_org(client, world.acme)
    assert missing.status_code == 422
    assert "owners are emailed at once" in field_error(missing.text, "break_glass_reason")
    assert await impersonations(db) == []

    entered = await start_from_org(client, world.acme, break_glass_reason="Production outage, owner unreachable")
    assert entered.status_code == 303
    assert (await client.get("/o/acme")).status_code == 200
    (glass,) = await events(db, "support.break_glass")
    assert glass.org_id == world.acme.id
    mail = list(await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "support_break_glass")))
    assert [m.to_address for m in mail] == ["olivia@acme.example"]
    assert "Production outage, owner unreachable" in mail[0].text_body


async def test_the_approval_flow_end_to_end(client, world, db, sessionmaker):
    await sign_in(client, world.olivia)
    saved = await post_form(client, "/o/acme/settings/support", {"support_access": "approval"}, follow_redirects=False)
    assert saved.status_code == 303

    await sign_in(client, world.sam)
    page = await client.get(f"/staff/orgs/{world.acme.id}/impersonate")
    assert "Ask the owners" in page.text
    assert (await start_from_org(client, world.acme)).status_code == 403
    short = await post_form(client, f"/staff/orgs/{world.acme.id}/access-requests", {"request_reason": "pls"})
    assert "at least 10 characters" in field_error(short.text, "request_reason")
    asked = await post_form(
        client,
        f"/staff/orgs/{world.acme.id}/access-requests",
        {"request_reason": "Investigating ticket about invitations", "request_ticket": "SUP-9"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    again = await post_form(
        client, f"/staff/orgs/{world.acme.id}/access-requests", {"request_reason": "Investigating it again"}
    )
    assert "already waiting" in again.text
    (email,) = list(await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "support_access_requested")))
    assert email.to_address == "olivia@acme.example"
    assert "Investigating ticket about invitations" in email.text_body
    assert "/o/acme/settings/support" in email.text_body

    # An admin sees the request but only an owner answers.
    await sign_in(client, world.adam)
    seen = await client.get("/o/acme/settings/support")
    assert "Investigating ticket about invitations" in seen.text
    (request_id,) = [r.id for r, _ in await services.requests_of_org(db, org_id=world.acme.id)]
    by_admin = await post_form(client, f"/o/acme/settings/support/requests/{request_id}/approve", {"hours": "4"})
    assert by_admin.status_code == 403

    await sign_in(client, world.olivia)
    approved = await post_form(
        client, f"/o/acme/settings/support/requests/{request_id}/approve", {"hours": "1"}, follow_redirects=False
    )
    assert approved.status_code == 303
    (event,) = await events(db, "support.access_approved")
    assert event.org_id == world.acme.id and event.after["hours"] == 1
    answer = await db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "support_access_answered"))
    assert answer.to_address == "sam@vendor.example" and "Approved" in answer.subject

    await sign_in(client, world.sam)
    started = await start_from_org(client, world.acme, minutes="60")
    assert started.status_code == 303
    (row,) = await impersonations(db)
    assert row.expires_at <= utcnow() + datetime.timedelta(hours=1)
    assert (await client.get("/o/acme")).status_code == 200
    assert len(await events(db, "support.access_requested")) == 1


async def test_an_owner_may_refuse_a_request(client, world, db, sessionmaker):
    await set_support_access(sessionmaker, world.acme, "approval")
    await sign_in(client, world.sam)
    await post_form(client, f"/staff/orgs/{world.acme.id}/access-requests", {"request_reason": "Looking at billing"})
    await sign_in(client, world.olivia)
    (request_id,) = [r.id for r, _ in await services.requests_of_org(db, org_id=world.acme.id)]
    await post_form(client, f"/o/acme/settings/support/requests/{request_id}/refuse")
    assert len(await events(db, "support.access_refused")) == 1
    again = await post_form(client, f"/o/acme/settings/support/requests/{request_id}/approve", {"hours": "4"})
    assert "answered already" in again.text
    await sign_in(client, world.sam)
    assert (await start_from_org(client, world.acme)).status_code == 403


async def test_only_an_owner_changes_support_access(client, world, db):
    await sign_in(client, world.adam)
    page = await client.get("/o/acme/settings/support")
    assert "Only an owner can change this" in page.text
    response = await post_form(client, "/o/acme/settings/support", {"support_access": "allowed"})
    assert response.status_code == 403
    await sign_in(client, world.olivia)
    bad = await post_form(client, "/o/acme/settings/support", {"support_access": "sometimes"})
    assert bad.status_code == 422
    assert await count(db, OrgSettingsOverrides, OrgSettingsOverrides.support_access.is_not(None)) == 0
    assert await events(db, "org.settings_changed") == []


async def test_an_owner_tightening_access_shuts_a_running_impersonation_out(client, world, sessionmaker):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    assert (await client.get("/o/acme")).status_code == 200
    await set_support_access(sessionmaker, world.acme, "refused")
    shut = await client.get("/o/acme")
    assert shut.status_code == 403
    assert "turned support access off" in shut.text


async def test_viewing_as_a_user_reaches_only_the_orgs_that_let_support_in(client, world, db, sessionmaker):
    await set_support_access(sessionmaker, world.globex, "approval")
    await sign_in(client, world.sam)
    started = await post_form(
        client, f"/staff/users/{world.gus.id}/impersonate", {"reason": REASON, "minutes": "30"}, follow_redirects=False
    )
    assert started.status_code == 303
    assert "viewing as" in (await client.get("/orgs")).text
    closed = await client.get("/o/globex")
    assert closed.status_code == 403
    assert "after an owner approves" in closed.text
    (start,) = await events(db, "support.impersonation_started")
    assert start.org_id is None  # no org of Gus let support in: the start is on the staff record only
    # What Globex's admins read: support tried a page and was refused; nothing else.
    in_globex = list(
        await db.scalars(
            select(AuditEvent).where(AuditEvent.org_id == world.globex.id, AuditEvent.action.startswith("support."))
        )
    )
    assert [(e.action, e.after["path"], e.after["status"]) for e in in_globex] == [
        ("support.request", "/o/globex", 403)
    ]


async def test_an_impersonation_left_running_ends_on_time_in_the_customers_log(
    client, world, db, sessionmaker, monkeypatch
):
    """The staff browser never comes back: the worker's chore records the expiry anyway."""
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme, minutes="15")
    travel(monkeypatch, minutes=20)
    await end_overdue_impersonations(sessionmaker)
    await end_overdue_impersonations(sessionmaker)  # twice: still one end
    (expired,) = await events(db, "support.impersonation_expired")
    assert expired.org_id == world.acme.id and expired.after["minutes"] == 15
    (row,) = await impersonations(db)
    assert row.ended_at == row.expires_at
    page = await client.get("/account")  # the browser comes back later: itself, with no second end
    assert "sam@vendor.example" in page.text
    assert len(await events(db, "support.impersonation_expired")) == 1


async def test_an_impersonation_from_an_org_stays_in_that_org(client, world, db):
    """Olivia is in Globex too; viewing Acme as her doesn't open Globex, which never agreed."""
    async with client.test_sessionmaker() as session:
        member = await template_role(session, BuiltinRole.MEMBER)
        globex = await session.get(Organization, world.globex.id)
        olivia = await session.get(User, world.olivia.id)
        await create_membership(session, org=globex, user=olivia, roles=[member], actor=Actor.system())
        await session.commit()
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    other = await client.get("/o/globex")
    assert other.status_code == 403
    assert "started for another" in unescape(other.text)


async def test_a_form_sent_after_the_time_ran_out_is_not_done_as_staff(client, world, db, monkeypatch):
    await sign_in(client, world.sam)
    await post_form(
        client, f"/staff/users/{world.mia.id}/impersonate", {"reason": REASON, "minutes": "15"}, follow_redirects=False
    )
    travel(monkeypatch, minutes=16)
    # Mia's profile form, still open in the tab: it must not rename Sam.
    response = await post_form(client, "/account/profile", {"name": "Mia Renamed"}, follow_redirects=False)
    assert response.status_code == 409
    assert "nothing was changed" in response.text
    sam = await db.get(User, world.sam.id, populate_existing=True)
    assert sam.name == "Sam Support"
    assert (await post_form(client, "/account/profile", {"name": "Sam S."}, follow_redirects=False)).status_code == 303


async def test_write_access_leaves_the_customers_own_decisions_alone(client, world, db, sessionmaker):
    ada = await make_support_admin(sessionmaker)
    await sign_in(client, ada)
    await start_from_org(client, world.acme, write="on", write_reason="The owner asked us to fix the roles")
    for path, data in [
        ("/o/acme/settings/support", {"support_access": "allowed"}),
        ("/o/acme/settings/transfer", {"email": "adam@acme.example"}),
        ("/o/acme/settings/delete", {"confirm": "acme"}),
        ("/o/acme/leave", {}),
        ("/account/profile", {"name": "Olivia Changed"}),
        ("/account/sessions/revoke-others", {}),
    ]:
        response = await post_form(client, path, data, follow_redirects=False)
        assert response.status_code == 403, path
        assert "nothing was changed" in unescape(response.text).lower(), path
    assert await events(db, "org.settings_changed") == []
    assert await events(db, "org.deleted") == []


async def test_a_support_admin_demoted_mid_impersonation_loses_write_access(client, world, db, sessionmaker):
    ada = await make_support_admin(sessionmaker)
    await sign_in(client, ada)
    await start_from_org(client, world.acme, write="on", write_reason="The owner asked us to fix the name")
    async with sessionmaker() as session:
        row = await session.get(User, ada.id)
        row.staff_role = "support"
        await session.commit()
    response = await post_form(client, "/o/acme/settings/name", {"name": "Acme Corp"}, follow_redirects=False)
    assert response.status_code == 403
    assert "Read-only" in (await client.get("/o/acme")).text


async def test_pages_outside_the_org_are_in_its_log_too(client, world, db):
    await sign_in(client, world.sam)
    await start_from_org(client, world.acme)
    await client.get("/account/sessions")
    (line,) = [e for e in await events(db, "support.request") if e.after["path"] == "/account/sessions"]
    assert line.org_id == world.acme.id
