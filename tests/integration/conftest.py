"""Integration fixtures: the app on a real database, an HTTP client, and the named personas.

Olivia owns Acme, Adam administers it, Mia is a member, Gus is in Globex only, Sam is support
staff, Nora has just signed up and not confirmed her address yet. They all use PASSWORD.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantry.access.catalog import load_catalog
from tenantry.access.models import Role
from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import create_role, sync_role_templates, template_role
from tenantry.accounts import sessions
from tenantry.accounts.models import User
from tenantry.accounts.passwords import Passwords
from tenantry.accounts.services import create_user
from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor
from tenantry.db.engine import create_sessionmaker
from tenantry.groups.models import Group
from tenantry.groups.services import add_group_member, create_group, set_group_roles
from tenantry.invitations.models import Invitation, InvitationGroup, InvitationRole
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token, new_token
from tenantry.members.models import Membership
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_organization
from tenantry.runtime import runtime_of
from tests.conftest import base_settings

PASSWORD = "correct horse battery staple"
EXAMPLE_PERMISSIONS = Path(__file__).resolve().parents[2] / "examples" / "permissions.toml"
CATALOG = load_catalog(EXAMPLE_PERMISSIONS)


@functools.cache
def password_hash() -> str:
    """Hashed once per run, with the same parameters as the test settings."""
    return Passwords(base_settings("sqlite://")).hash_blocking(PASSWORD)


@dataclass
class World:
    olivia: User
    adam: User
    mia: User
    gus: User
    sam: User
    nora: User
    acme: Organization
    globex: Organization
    developer: Role  # Acme's own role: projects and API access
    engineering: Group  # an Acme group; Adam is in it and it gives Developer
    globex_role: Role
    globex_team: Group
    memberships: dict[str, Membership]


@pytest.fixture
async def app(settings, engine) -> Litestar:
    return create_app(settings)


@pytest.fixture
def sessionmaker(engine) -> async_sessionmaker:
    """Sessions for the test's own reads and writes. The app runs in the test client's event
    loop (a portal thread), so the test must not borrow the app's pooled connections."""
    return create_sessionmaker(engine)


@pytest.fixture
async def client(app, sessionmaker) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        client.test_sessionmaker = sessionmaker
        yield client


@pytest.fixture
async def db(sessionmaker) -> AsyncIterator[AsyncSession]:
    """A session of its own, for arranging and checking what the HTTP requests did."""
    async with sessionmaker() as session:
        yield session


async def make_user(
    db: AsyncSession, name: str, email: str, *, staff_role: str | None = None, verified: bool = True
) -> User:
    return await create_user(
        db,
        name=name,
        email=email,
        password_hash=password_hash(),
        actor=Actor.system("tests"),
        is_staff=staff_role is not None,
        staff_role=staff_role,
        email_verified=verified,
    )


@pytest.fixture
async def world(sessionmaker) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
def world_factory(database_urls, backend, engine):
    """An app with some settings changed (e.g. low rate limits), its client and the personas."""

    @asynccontextmanager
    async def factory(**overrides):
        app = create_app(base_settings(database_urls[backend], **overrides))
        async with AsyncTestClient(app, base_url="http://testserver.local") as client:
            client.test_sessionmaker = create_sessionmaker(engine)
            yield client, await build_world(client.test_sessionmaker)

    return factory


# Seeding reads only the plans file from settings; every test app uses the same one.
SEED_SETTINGS = base_settings("sqlite+aiosqlite://")


async def build_world(sessionmaker: async_sessionmaker) -> World:
    system = Actor.system("tests")
    async with sessionmaker() as db:
        await sync_role_templates(db, CATALOG)
        olivia = await make_user(db, "Olivia Owner", "olivia@acme.example")
        adam = await make_user(db, "Adam Admin", "adam@acme.example")
        mia = await make_user(db, "Mia Member", "mia@acme.example")
        gus = await make_user(db, "Gus Globex", "gus@globex.example")
        sam = await make_user(db, "Sam Support", "sam@vendor.example", staff_role="support")
        nora = await make_user(db, "Nora Newcomer", "nora@newcomer.example", verified=False)
        acme = await create_organization(
            db, creator=olivia, name="Acme", slug="acme", brand_color="#d97706", logo=None, actor=system
        )
        globex = await create_organization(
            db, creator=gus, name="Globex", slug="globex", brand_color="", logo=None, actor=system
        )
        admin = await template_role(db, BuiltinRole.ADMIN)
        member = await template_role(db, BuiltinRole.MEMBER)
        adam_in_acme = await create_membership(db, org=acme, user=adam, roles=[admin], actor=system)
        mia_in_acme = await create_membership(db, org=acme, user=mia, roles=[member], actor=system)
        developer = await create_role(
            db,
            settings=SEED_SETTINGS,
            org=acme,
            catalog=CATALOG,
            name="Developer",
            key="developer",
            description="Builds the product.",
            permissions={"projects:read", "projects:write", "api:access"},
            actor=system,
        )
        engineering = await create_group(
            db, settings=SEED_SETTINGS, org=acme, name="Engineering", description="The builders", actor=system
        )
        await set_group_roles(db, org=acme, group=engineering, role_ids={developer.id}, actor=system)
        await add_group_member(
            db,
            org=acme,
            group=engineering,
            membership=adam_in_acme,
            member_label=adam.email,
            actor=system,
        )
        globex_role = await create_role(
            db,
            settings=SEED_SETTINGS,
            org=globex,
            catalog=CATALOG,
            name="Globex Reader",
            key="reader",
            description="",
            permissions={"reports:read"},
            actor=system,
        )
        globex_team = await create_group(
            db, settings=SEED_SETTINGS, org=globex, name="Globex Team", description="", actor=system
        )
        memberships = {
            "olivia": await db.scalar(select(Membership).where(Membership.user_id == olivia.id)),
            "adam": adam_in_acme,
            "mia": mia_in_acme,
            "gus": await db.scalar(select(Membership).where(Membership.user_id == gus.id)),
        }
        await db.commit()
    return World(
        olivia=olivia,
        adam=adam,
        mia=mia,
        gus=gus,
        sam=sam,
        nora=nora,
        acme=acme,
        globex=globex,
        developer=developer,
        engineering=engineering,
        globex_role=globex_role,
        globex_team=globex_team,
        memberships=memberships,
    )


async def sign_in(client: AsyncTestClient, user: User, *, user_agent: str = "pytest") -> str:
    """Open a session for `user` directly (no password round trip) and use it in `client`."""
    settings = runtime_of(client.app).settings
    async with client.test_sessionmaker() as db:
        new = sessions.create_session(db, user=user, settings=settings, ip="127.0.0.1", user_agent=user_agent)
        await db.commit()
    client.cookies.set(sessions.SESSION_COOKIE, new.token, domain="testserver.local")
    return new.token


async def csrf_token(client: AsyncTestClient) -> str:
    token = client.cookies.get("tenantry_csrf")
    if not token:
        await client.get("/healthz")
        token = client.cookies.get("tenantry_csrf")
    assert token, "the CSRF cookie should be set by any safe request"
    return token


async def post_form(client: AsyncTestClient, path: str, data: dict | None = None, *, files=None, **kwargs):
    """POST a form the way a browser does, CSRF token included."""
    payload = {"_csrf_token": await csrf_token(client), **(data or {})}
    return await client.post(path, data=payload, files=files, **kwargs)


async def events(db: AsyncSession, action: str | None = None) -> list[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        statement = statement.where(AuditEvent.action == action)
    return list(await db.scalars(statement.execution_options(populate_existing=True)))


async def count(db: AsyncSession, model, *where) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def field_error(html: str, field: str) -> str | None:
    """The error message shown next to a form field, as a user would read it."""
    match = re.search(rf'id="field-{re.escape(field)}-error">([^<]*)<', html)
    return unescape(match.group(1)) if match else None


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(engine: AsyncEngine):
    counter = QueryCounter()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def app_engine(app) -> AsyncEngine:
    return runtime_of(app).engine


async def make_invitation(
    db: AsyncSession,
    org: Organization,
    email: str,
    *,
    roles: list[Role] | None = None,
    groups: list[Group] | None = None,
    days: int = 7,
    inviter: User | None = None,
    message: str = "",
) -> tuple[Invitation, str]:
    """A pending invitation written directly (no email); returns it and its link's token."""
    token = new_token()
    invitation = Invitation(
        org_id=org.id,
        email=email,
        token_hash=hash_token(token),
        invited_by_id=inviter.id if inviter else None,
        inviter_name=inviter.name if inviter else "Tests",
        message=message,
        expires_at=utcnow() + datetime.timedelta(days=days),
        sent_at=utcnow(),
    )
    db.add(invitation)
    await db.flush()
    for role in roles if roles is not None else [await template_role(db, BuiltinRole.MEMBER)]:
        db.add(InvitationRole(invitation_id=invitation.id, role_id=role.id))
    for group in groups or []:
        db.add(InvitationGroup(invitation_id=invitation.id, group_id=group.id))
    await db.commit()
    return invitation, token


async def accept_all_at_once(sessionmaker, settings, invitations: list[tuple]) -> list[str]:
    """Each (user_id, token) accepted at the same moment, each in its own session: "joined", or
    the refusal's message."""
    from tenantry.invitations.services import accept_invitation
    from tenantry.lib.forms import InvalidInput

    async def accept(user_id, token) -> str:
        async with sessionmaker() as session:
            user = await session.get(User, user_id)
            try:
                actor = Actor(user_id=user_id, label="joiner")
                await accept_invitation(session, settings=settings, token=token, user=user, actor=actor)
            except InvalidInput as exc:
                await session.rollback()
                return " ".join(exc.errors.values())
            await asyncio.sleep(0.01)  # hold the lock a moment: the others queue behind it
            await session.commit()
            return "joined"

    return list(await asyncio.gather(*(accept(user_id, token) for user_id, token in invitations)))
