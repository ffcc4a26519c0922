"""/api/v1/users: read and create users, and a user's orgs with their roles and effective
permissions — the authorization object an app keeps in its session.

An org key sees only the users who are members of its org (any other: 404) and, of their orgs,
only its own; creating users needs an app key.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from sqlalchemy import and_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.services import EffectivePermissions, _collect, _held_roles_statement
from tenantry.accounts.models import User
from tenantry.accounts.services import create_user, user_target
from tenantry.api.auth import SCOPE_OPT, ApiCaller
from tenantry.api.checks import user_named
from tenantry.api.models import Scope
from tenantry.api.problems import Problem
from tenantry.api.schemas_users import HeldRoleOut, UserCreate, UserOrgOut, UserOrgs, UserOut
from tenantry.audit.services import record_event
from tenantry.config import Settings
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.services import create_personal_workspace_if_on
from tenantry.orgs.settings import apply_policies, org_settings_of

# Orgs resolved per statement: SQLite allows 500 terms in a compound SELECT, and each org takes two.
ORGS_PER_STATEMENT = 200
UserPath = Annotated[str, Parameter(description="A user's id or email address")]


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        created_at=user.created_at,
        email_verified=user.email_verified_at is not None,
        has_password=user.password_hash is not None,
        metadata=dict(user.meta or {}),
    )


async def find_user(db: AsyncSession, ref: str) -> User | None:
    """A user by id or (case-insensitive) email."""
    match = user_named(ref)
    return None if match is None else await db.scalar(select(User).where(match))


async def reachable_user(db: AsyncSession, api: ApiCaller, ref: str) -> User:
    """The user, if this key may see them: any user for an app key; for an org key, a member of
    its org (deactivated ones too: they are still on its member list)."""
    user = await find_user(db, ref)
    if user is None:
        raise NotFound
    if api.org_id is not None:
        member = await db.scalar(
            select(Membership.id).where(Membership.org_id == api.org_id, Membership.user_id == user.id)
        )
        if member is None:
            raise NotFound
    return user


async def permissions_in_orgs(
    db: AsyncSession, *, user_id: UUID, memberships: dict[UUID, UUID]
) -> dict[UUID, EffectivePermissions]:
    """access.services.effective_permissions for each org of `memberships` (membership id → org
    id) at once: the resolver's own statement for each org, joined into one UNION ALL (one
    statement per ORGS_PER_STATEMENT orgs), then collected per membership as the resolver does."""
    rows_of: dict[UUID, list] = defaultdict(list)
    membership_ids = list(memberships)
    for start in range(0, len(membership_ids), ORGS_PER_STATEMENT):
        chunk = membership_ids[start : start + ORGS_PER_STATEMENT]
        selects = [
            part
            for membership_id in chunk
            for part in _held_roles_statement(memberships[membership_id], [Membership.user_id == user_id]).selects
        ]
        for row in await db.execute(union_all(*selects)):
            rows_of[row[0]].append(row)
    return {memberships[m]: _collect(rows_of.get(m, [])) for m in membership_ids}


async def orgs_of(db: AsyncSession, settings: Settings, *, user_id: UUID, only_org: UUID | None) -> list[UserOrgOut]:
    """The user's live orgs with an active membership, by name; two statements for up to
    ORGS_PER_STATEMENT orgs."""
    statement = (
        select(Organization, OrgSettingsOverrides, Membership.id)
        .join(
            Membership,
            and_(
                Membership.org_id == Organization.id,
                Membership.user_id == user_id,
                Membership.status == MembershipStatus.ACTIVE,
            ),
        )
        .outerjoin(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
        .where(Organization.deleted_at.is_(None))
        .order_by(Organization.name, Organization.id)
    )
    if only_org is not None:
        statement = statement.where(Organization.id == only_org)
    rows = list(await db.execute(statement))
    if not rows:
        return []
    held = await permissions_in_orgs(db, user_id=user_id, memberships={m: org.id for org, _, m in rows})
    found = []
    for org, overrides, _ in rows:
        permissions = apply_policies(held[org.id], org_settings_of(settings, org, overrides))
        found.append(
            UserOrgOut(
                id=org.id,
                slug=org.slug,
                name=org.name,
                roles=[HeldRoleOut(key=r.key, name=r.name, group=r.group_name) for r in permissions.roles],
                permissions=sorted(permissions.permissions),
            )
        )
    return found


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/{user_ref:str}", opt={SCOPE_OPT: Scope.READ}, summary="A user, by id or email")
    async def get_user(self, db_session: AsyncSession, api: ApiCaller, user_ref: UserPath) -> UserOut:
        return user_out(await reachable_user(db_session, api, user_ref))

    @post("/", opt={SCOPE_OPT: Scope.WRITE}, summary="Create a user")
    async def create(self, db_session: AsyncSession, settings: Settings, api: ApiCaller, data: UserCreate) -> UserOut:
        """An account without a password, as an admin provisions one in the portal: they choose
        theirs through the password reset link (or join by an invitation). An address that already
        has an account: 409. App keys only."""
        if api.org_id is not None:
            raise PermissionDeniedException(
                detail="An org key acts within its own org only: creating users needs an app key."
            )
        try:
            user = await create_user(
                db_session,
                name=data.name,
                email=data.email,
                password_hash=None,
                actor=api.actor,
                email_verified=data.email_verified,
            )
        except InvalidInput:
            message = "An account with this email address already exists."
            raise Problem(409, message, errors=[{"field": "email", "message": message}]) from None
        record_event(
            db_session,
            actor=api.actor,
            action="user.created",
            target=user_target(user),
            after={"name": user.name, "email_verified": data.email_verified},
        )
        await create_personal_workspace_if_on(db_session, settings, user=user, actor=api.actor)
        return user_out(user)

    @get(
        "/{user_ref:str}/orgs",
        opt={SCOPE_OPT: Scope.READ},
        summary="A user's orgs, roles and permissions",
    )
    async def orgs(self, db_session: AsyncSession, settings: Settings, api: ApiCaller, user_ref: UserPath) -> UserOrgs:
        """Each org where the user is an active member, with the roles they hold (directly and
        through groups) and their effective permissions after the org's policies: what the portal's
        own guards decide. For an org key: its own org only."""
        found = await reachable_user(db_session, api, user_ref)
        return UserOrgs(
            user=user_out(found), orgs=await orgs_of(db_session, settings, user_id=found.id, only_org=api.org_id)
        )
