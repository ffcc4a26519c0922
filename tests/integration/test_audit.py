"""Every mutation writes its audit event, in the same transaction, with who, where and which request."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from tenantry.access.models import Role
from tenantry.accounts.models import UserSession
from tenantry.audit.models import AuditEvent
from tenantry.lib.clock import utcnow
from tenantry.plans.models import PlanOverride
from tenantry.support.models import Impersonation, SupportAccessRequest
from tests.integration.conftest import PASSWORD, SEED_SETTINGS, World, count, csrf_token, make_invitation, sign_in
from tests.integration.test_orgs import image_bytes
from tests.integration.test_route_table import UNSAFE, endpoints


@dataclass
class Mutation:
    route: str  # the route template, as in the route table
    action: str  # the audit event it must write
    who: str | None  # the persona acting; None: anonymous
    data: dict[str, str] = field(default_factory=dict)
    files: dict | None = None
    path: Callable[[World, object], Awaitable[str]] | None = None  # for routes with ids
    form: Callable[[World, object], Awaitable[dict]] | None = None  # data that needs ids


async def other_session_of(world: World, db) -> str:
    session = await db.scalar(select(UserSession).where(UserSession.user_agent == "other browser"))
    return f"/account/sessions/{session.id}/revoke"


async def mia_page(world: World, db) -> str:
    return f"/o/acme/members/{world.memberships['mia'].id}/roles"


async def template_id(db, key: str) -> str:
    return str(await db.scalar(select(Role.id).where(Role.org_id.is_(None), Role.key == key)))


async def member_and_analyst(world: World, db) -> dict:
    return {"role": [await template_id(db, "member"), await template_id(db, "analyst")]}


async def developer_and_analyst(world: World, db) -> dict:
    return {"role": [str(world.developer.id), await template_id(db, "analyst")]}


def staff_plan(rest: str, *, with_override: bool = False):
    async def path(world: World, db) -> str:
        if with_override:
            db.add(PlanOverride(org_id=world.acme.id, extra_seats=2, extra_features=[]))
            await db.commit()
        return f"/staff/orgs/{world.acme.id}/plan{rest}"

    return path


def at(template: str):
    async def path(world: World, db) -> str:
        return template.format(
            developer=world.developer.id,
            engineering=world.engineering.id,
            adam=world.memberships["adam"].id,
            acme=world.acme.id,
            mia_user=world.mia.id,
        )

    return path


async def developer_as_default(world: World, db) -> dict:
    return {"role_id": str(world.developer.id)}


async def mia_membership(world: World, db) -> dict:
    return {"membership_id": str(world.memberships["mia"].id)}


async def reset_token(world: World, db) -> str:
    return await _token(world, db, "reset_password")


async def set_token(world: World, db) -> str:
    return await _token(world, db, "set_password")


async def _token(world: World, db, purpose: str) -> str:
    from tenantry.accounts.models import TokenPurpose, User
    from tenantry.accounts.tokens import issue_token

    mia = await db.get(User, world.mia.id)
    token = await issue_token(db, user=mia, purpose=TokenPurpose(purpose))
    await db.commit()
    return f"/{purpose.replace('_', '-')}/{token}"


def invitation_to(email: str, verb: str):
    """A pending invitation into Acme; the path is its resend/revoke route or its join link's."""

    async def path(world: World, db) -> str:
        invitation, token = await make_invitation(db, world.acme, email, inviter=world.adam)
        if verb in ("accept", "signup"):
            return f"/invite/{token}/{verb}"
        return f"/o/acme/invitations/{invitation.id}/{verb}"

    return path


async def deactivated_mia(world: World, db) -> str:
    from sqlalchemy import update

    from tenantry.members.models import Membership, MembershipStatus

    mia = world.memberships["mia"].id
    await db.execute(update(Membership).where(Membership.id == mia).values(status=MembershipStatus.INACTIVE))
    await db.commit()
    return f"/o/acme/members/{mia}/reactivate"


async def deleted_acme(world: World, db) -> str:
    from sqlalchemy import update

    from tenantry.lib.clock import utcnow
    from tenantry.orgs.models import Organization

    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(deleted_at=utcnow()))
    await db.commit()
    return f"/staff/orgs/{world.acme.id}/restore"


def of_mia(verb: str):
    async def path(world: World, db) -> str:
        return f"/o/acme/members/{world.memberships['mia'].id}/{verb}"

    return path


def api_key_of(org: str | None):
    """A key of Acme (org "acme") or an app key (None); the path is its revoke route."""

    async def path(world: World, db) -> str:
        from tenantry.api.keys import create_key
        from tenantry.audit.services import Actor
        from tenantry.orgs.models import Organization

        owner = await db.get(Organization, world.acme.id) if org else None
        new = await create_key(
            db,
            settings=SEED_SETTINGS,
            org=owner,
            name="Backend",
            scopes=["read"],
            expires_at=None,
            actor=Actor.system("tests"),
        )
        await db.commit()
        if org:
            return f"/o/acme/settings/api-keys/{new.row.id}/revoke"
        await sam_as_support_admin(world, db)
        return f"/staff/api-keys/{new.row.id}/revoke"

    return path


async def sam_as_support_admin(world: World, db) -> str:
    """App keys are for support-admins: Sam is one for this line."""
    from sqlalchemy import update

    from tenantry.accounts.models import User

    await db.execute(update(User).where(User.id == world.sam.id).values(staff_role="support-admin"))
    await db.commit()
    return "/staff/api-keys"


IMPERSONATION = {"reason": "Looking at the members page for a ticket", "minutes": "30"}


async def acme_in_approval(world: World, db) -> str:
    from tenantry.orgs.models import OrgSettingsOverrides

    db.add(OrgSettingsOverrides(org_id=world.acme.id, support_access="approval"))
    await db.commit()
    return f"/staff/orgs/{world.acme.id}/access-requests"


def support_request(verb: str):
    async def path(world: World, db) -> str:
        request = SupportAccessRequest(org_id=world.acme.id, staff_user_id=world.sam.id, reason="Ticket SUP-1 here")
        db.add(request)
        await db.commit()
        return f"/o/acme/settings/support/requests/{request.id}/{verb}"

    return path


async def in_an_impersonation(world: World, db) -> str:
    """Sam's browser (signed in just before) views Acme as Olivia."""
    session = await db.scalar(
        select(UserSession).where(UserSession.user_id == world.sam.id).order_by(UserSession.created_at.desc())
    )
    db.add(
        Impersonation(
            staff_user_id=world.sam.id,
            staff_session_id=session.id,
            target_user_id=world.olivia.id,
            org_id=world.acme.id,
            logged_org_ids=[str(world.acme.id)],
            reason="Looking at the members page",
            expires_at=utcnow() + datetime.timedelta(minutes=30),
        )
    )
    await db.commit()
    return "/staff/impersonation/end"


async def mia_metadata(world: World, db) -> str:
    return f"/staff/users/{world.mia.id}/metadata"


async def signed_in_mia(world: World, db) -> str:
    from tenantry.accounts.sessions import create_session

    create_session(db, user=world.mia, settings=SEED_SETTINGS, ip="10.0.0.1", user_agent="laptop")
    await db.commit()
    return f"/staff/users/{world.mia.id}/sessions/end"


async def unconfirmed_nora(world: World, db) -> str:
    return f"/staff/users/{world.nora.id}/verification"


MUTATIONS = [
    Mutation("/signup", "user.signed_up", None, {"name": "Nora", "email": "nora@x.example", "password": PASSWORD}),
    Mutation("/login", "user.signed_in", None, {"email": "mia@acme.example", "password": PASSWORD}),
    Mutation("/login", "user.sign_in_failed", None, {"email": "mia@acme.example", "password": "wrong!!!"}),
    Mutation("/logout", "user.signed_out", "mia"),
    Mutation("/forgot-password", "user.password_reset_requested", None, {"email": "mia@acme.example"}),
    Mutation(
        "/reset-password/{token:str}",
        "user.password_reset",
        None,
        {"password": "a brand new passphrase"},
        path=reset_token,
    ),
    Mutation(
        "/set-password/{token:str}", "user.password_set", None, {"password": "a brand new passphrase"}, path=set_token
    ),
    Mutation("/account/verification", "user.verification_sent", "nora", {"next": "/orgs/new"}),
    Mutation("/account/profile", "user.profile_updated", "mia", {"name": "Mia M."}),
    Mutation(
        "/account/password",
        "user.password_changed",
        "mia",
        {"current_password": PASSWORD, "new_password": "another fine passphrase"},
    ),
    Mutation("/account/sessions/{session_id:uuid}/revoke", "user.session_revoked", "mia", path=other_session_of),
    Mutation("/account/sessions/revoke-others", "user.other_sessions_revoked", "mia"),
    Mutation("/orgs/new", "org.created", "mia", {"name": "Initech", "brand_color": "#123456"}),
    Mutation("/o/{slug:str}/settings/name", "org.renamed", "adam", {"name": "Acme Inc."}),
    Mutation("/o/{slug:str}/settings/slug", "org.slug_changed", "adam", {"slug": "acme-inc"}),
    Mutation(
        "/o/{slug:str}/settings/branding",
        "org.branding_changed",
        "adam",
        {"brand_color": "#000000"},
        files={"logo": ("l.png", image_bytes(), "image/png")},
    ),
    Mutation("/o/{slug:str}/settings/delete", "org.deleted", "olivia", {"confirm": "acme"}),
    Mutation("/staff/orgs/{org_id:uuid}/restore", "org.restored", "sam", path=deleted_acme),
    Mutation("/o/{slug:str}/plan/seats", "org.seat_limit_changed", "olivia", {"seat_limit": "50"}),
    Mutation("/o/{slug:str}/plan", "org.plan_changed", "adam", {"plan": "scale"}),
    Mutation("/staff/orgs/{org_id:uuid}/plan", "org.plan_changed", "sam", {"plan": "scale"}, path=staff_plan("")),
    Mutation(
        "/staff/orgs/{org_id:uuid}/plan/override",
        "org.plan_override_set",
        "sam",
        {"extra_seats": "5", "feature": "sso", "note": "ticket 4711"},
        path=staff_plan("/override"),
    ),
    Mutation(
        "/staff/orgs/{org_id:uuid}/plan/override/remove",
        "org.plan_override_removed",
        "sam",
        path=staff_plan("/override/remove", with_override=True),
    ),
    Mutation(
        "/o/{slug:str}/settings/metadata",
        "org.metadata_changed",
        "adam",
        {"key-0": "industry", "type-0": "string", "value-0": "food"},
    ),
    Mutation(
        "/staff/users/{user_id:uuid}/metadata",
        "user.metadata_changed",
        "sam",
        {"key-0": "tier", "type-0": "number", "value-0": "2"},
        path=mia_metadata,
    ),
    Mutation("/staff/users/{user_id:uuid}/sessions/end", "user.sessions_ended_by_staff", "sam", path=signed_in_mia),
    Mutation(
        "/staff/users/{user_id:uuid}/verification", "user.verification_resent_by_staff", "sam", path=unconfirmed_nora
    ),
    Mutation(
        "/o/{slug:str}/settings/policies",
        "org.settings_changed",
        "adam",
        {"expiry_days": "14", "domains_choice": "own", "domains": "acme.example", "members_see_each_other": "no"},
    ),
    Mutation(
        "/o/{slug:str}/members/{membership_id:uuid}/deactivate",
        "membership.deactivated",
        "adam",
        path=of_mia("deactivate"),
    ),
    Mutation(
        "/o/{slug:str}/members/{membership_id:uuid}/reactivate", "membership.reactivated", "adam", path=deactivated_mia
    ),
    Mutation("/o/{slug:str}/members/{membership_id:uuid}/remove", "membership.removed", "adam", path=of_mia("remove")),
    Mutation("/o/{slug:str}/leave", "membership.left", "mia"),
    Mutation("/o/{slug:str}/members/new", "membership.created", "adam", {"name": "Carl", "email": "carl@acme.example"}),
    Mutation("/o/{slug:str}/settings/transfer", "org.ownership_transferred", "olivia", {"email": "adam@acme.example"}),
    Mutation("/o/{slug:str}/invitations", "invitation.created", "adam", {"emails": "new.person@acme.example"}),
    Mutation(
        "/o/{slug:str}/invitations/{invitation_id:uuid}/resend",
        "invitation.resent",
        "adam",
        path=invitation_to("late@acme.example", "resend"),
    ),
    Mutation(
        "/o/{slug:str}/invitations/{invitation_id:uuid}/revoke",
        "invitation.revoked",
        "adam",
        path=invitation_to("late@acme.example", "revoke"),
    ),
    Mutation(
        "/invite/{token:str}/accept", "invitation.accepted", "gus", path=invitation_to("gus@globex.example", "accept")
    ),
    Mutation(
        "/invite/{token:str}/signup",
        "invitation.accepted",
        None,
        {"name": "Nina New", "password": PASSWORD},
        path=invitation_to("nina@acme.example", "signup"),
    ),
    Mutation(
        "/o/{slug:str}/members/{membership_id:uuid}/roles",
        "membership.roles_changed",
        "adam",
        path=mia_page,
        form=member_and_analyst,
    ),
    Mutation(
        "/o/{slug:str}/roles/new", "role.created", "adam", {"name": "Support agent", "permissions": "members:read"}
    ),
    Mutation("/o/{slug:str}/roles/default", "org.default_role_changed", "olivia", form=developer_as_default),
    Mutation(
        "/o/{slug:str}/roles/{role_id:uuid}",
        "role.updated",
        "adam",
        {"name": "Developer", "permissions": ["projects:read", "api:access"]},
        path=at("/o/acme/roles/{developer}"),
    ),
    Mutation(
        "/o/{slug:str}/roles/{role_id:uuid}/delete",
        "role.deleted",
        "olivia",
        path=at("/o/acme/roles/{developer}/delete"),
    ),
    Mutation("/o/{slug:str}/groups/new", "group.created", "adam", {"name": "Marketing"}),
    Mutation(
        "/o/{slug:str}/groups/{group_id:uuid}",
        "group.renamed",
        "adam",
        {"name": "Engineers", "description": "The builders"},
        path=at("/o/acme/groups/{engineering}"),
    ),
    Mutation(
        "/o/{slug:str}/groups/{group_id:uuid}/members",
        "group.member_added",
        "adam",
        path=at("/o/acme/groups/{engineering}/members"),
        form=mia_membership,
    ),
    Mutation(
        "/o/{slug:str}/groups/{group_id:uuid}/members/{membership_id:uuid}/remove",
        "group.member_removed",
        "adam",
        path=at("/o/acme/groups/{engineering}/members/{adam}/remove"),
    ),
    Mutation(
        "/o/{slug:str}/groups/{group_id:uuid}/roles",
        "group.role_given",
        "adam",
        path=at("/o/acme/groups/{engineering}/roles"),
        form=developer_and_analyst,
    ),
    Mutation(
        "/o/{slug:str}/groups/{group_id:uuid}/delete",
        "group.deleted",
        "olivia",
        path=at("/o/acme/groups/{engineering}/delete"),
    ),
    Mutation(
        "/staff/orgs/{org_id:uuid}/impersonate",
        "support.impersonation_started",
        "sam",
        IMPERSONATION,
        path=at("/staff/orgs/{acme}/impersonate"),
    ),
    Mutation(
        "/staff/users/{user_id:uuid}/impersonate",
        "support.impersonation_started",
        "sam",
        IMPERSONATION,
        path=at("/staff/users/{mia_user}/impersonate"),
    ),
    Mutation("/staff/impersonation/end", "support.impersonation_ended", "sam", path=in_an_impersonation),
    Mutation(
        "/staff/orgs/{org_id:uuid}/access-requests",
        "support.access_requested",
        "sam",
        {"request_reason": "Ticket SUP-2 about invitations"},
        path=acme_in_approval,
    ),
    Mutation("/o/{slug:str}/settings/support", "org.settings_changed", "olivia", {"support_access": "refused"}),
    Mutation(
        "/o/{slug:str}/settings/support/requests/{request_id:uuid}/approve",
        "support.access_approved",
        "olivia",
        {"hours": "4"},
        path=support_request("approve"),
    ),
    Mutation(
        "/o/{slug:str}/settings/support/requests/{request_id:uuid}/refuse",
        "support.access_refused",
        "olivia",
        path=support_request("refuse"),
    ),
    Mutation("/o/{slug:str}/settings/api-keys", "api_key.created", "adam", {"name": "Backend", "scopes": "read"}),
    Mutation(
        "/o/{slug:str}/settings/api-keys/{key_id:uuid}/revoke", "api_key.revoked", "adam", path=api_key_of("acme")
    ),
    Mutation(
        "/staff/api-keys",
        "api_key.created",
        "sam",
        {"name": "Billing", "scopes": ["check", "read"]},
        path=sam_as_support_admin,
    ),
    Mutation("/staff/api-keys/{key_id:uuid}/revoke", "api_key.revoked", "sam", path=api_key_of(None)),
]


def test_every_unsafe_route_has_a_mutation_in_this_table(app):
    covered = {m.route for m in MUTATIONS}
    unsafe = {e.template for e in endpoints(app) if e.method in UNSAFE}
    assert unsafe == covered, "a new mutating route needs its audit event, and a line here"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.action)
async def test_each_mutation_writes_exactly_its_event(client, world, db, mutation):
    if mutation.who:
        if mutation.route.startswith("/account/sessions"):
            await sign_in(client, getattr(world, mutation.who), user_agent="other browser")
        await sign_in(client, getattr(world, mutation.who))
    path = mutation.route.replace("{slug:str}", "acme")
    if mutation.path:
        path = await mutation.path(world, db)
    before = {e.id for e in await db.scalars(select(AuditEvent))}
    extra = await mutation.form(world, db) if mutation.form else {}
    data = {"_csrf_token": await csrf_token(client), **mutation.data, **extra}
    response = await client.post(path, data=data, files=mutation.files, follow_redirects=False)
    assert response.status_code in (200, 303), response.text[:500]

    new = [e for e in await db.scalars(select(AuditEvent)) if e.id not in before]
    matching = [e for e in new if e.action == mutation.action]
    assert len(matching) == 1, [e.action for e in new]
    event = matching[0]
    assert event.request_id == response.headers["x-request-id"], "the event names its request"
    assert event.ip == "testclient", "the client address as the server saw it"
    assert event.occurred_at.tzinfo is not None
    if mutation.who:
        assert event.actor_user_id == getattr(world, mutation.who).id
        assert event.actor_label.startswith(getattr(world, mutation.who).name)
    if mutation.route.startswith("/o/"):
        assert event.org_id == world.acme.id
    assert event.target_type and event.target_label


async def test_a_refused_change_writes_no_event(client, world, db):
    await sign_in(client, world.adam)
    before = await count(db, AuditEvent)
    token = await csrf_token(client)
    response = await client.post("/o/acme/settings/slug", data={"_csrf_token": token, "slug": "globex"})
    assert response.status_code == 422
    response = await client.post("/o/acme/settings/name", data={"_csrf_token": token, "name": ""})
    assert response.status_code == 422
    assert await count(db, AuditEvent) == before
