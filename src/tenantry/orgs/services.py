"""Organization verbs: create, rename, move, brand, delete; and what the switcher shows."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import MembershipRole, Role
from tenantry.access.permissions import BuiltinRole, Permission
from tenantry.access.services import authority, role_sort_key, template_role
from tenantry.accounts.confirmed import require_confirmed_address
from tenantry.accounts.models import User
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.lib.clock import utcnow
from tenantry.lib.forms import InvalidInput
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.rules import check_room_for
from tenantry.members.services import count_active_members, create_membership
from tenantry.orgs.logos import Logo, logo_url
from tenantry.orgs.models import Organization, OrgLogo, PersonalWorkspace, SlugRedirect
from tenantry.orgs.slugs import is_slug_available, slug_from_name, slug_problem, suggest_free_slug


def org_target(org: Organization) -> Target:
    return Target(type="organization", id=str(org.id), label=org.slug)


async def _slug_taken_error(db: AsyncSession, slug: str, *, org_id: UUID | None) -> InvalidInput:
    free = await suggest_free_slug(db, slug, org_id=org_id)
    return InvalidInput.on("slug", f"“{slug}” is already taken. “{free}” is free.")


class _SlugTakenMeanwhile(Exception):
    """Someone took the slug between our check and our insert."""


async def create_organization(
    db: AsyncSession,
    *,
    creator: User,
    name: str,
    slug: str,
    brand_color: str,
    logo: Logo | None,
    actor: Actor,
    settings: Settings | None = None,
) -> Organization:
    """Create an org; its creator becomes its owner. Only with a confirmed email address, and
    within TENANTRY_MAX_ORGS_PER_USER (`settings` None: no deployment rules, e.g. seeding)."""
    require_confirmed_address(creator)
    await check_room_for(db, settings, user=creator, org_id=None, doing="creating another")
    if slug:
        problem = slug_problem(slug)
        if problem:
            raise InvalidInput.on("slug", problem)
        if not await is_slug_available(db, slug):
            raise await _slug_taken_error(db, slug, org_id=None)
    else:
        slug = await suggest_free_slug(db, slug_from_name(name))
    try:
        return await _insert_organization(
            db, owner=creator, name=name, slug=slug, brand_color=brand_color, logo=logo, actor=actor
        )
    except _SlugTakenMeanwhile:
        raise await _slug_taken_error(db, slug, org_id=None) from None


PERSONAL_SUFFIX = "'s workspace"


async def create_personal_workspace(db: AsyncSession, *, user: User, actor: Actor) -> Organization:
    """ "Olivia's workspace", owned by Olivia, made with her account (so before she has confirmed
    her address). Its address comes from her name; it doesn't count toward her org limit."""
    name = f"{user.name[: 100 - len(PERSONAL_SUFFIX)]}{PERSONAL_SUFFIX}"
    for _ in range(3):  # a slug taken at the same moment: take the next free one
        slug = await suggest_free_slug(db, slug_from_name(user.name))
        try:
            return await _insert_organization(
                db, owner=user, name=name, slug=slug, brand_color="", logo=None, actor=actor, personal=True
            )
        except _SlugTakenMeanwhile:
            continue
    slug = await suggest_free_slug(db, f"{slug_from_name(user.name)}-{user.id.hex[-6:]}")
    return await _insert_organization(
        db, owner=user, name=name, slug=slug, brand_color="", logo=None, actor=actor, personal=True
    )


async def create_personal_workspace_if_on(
    db: AsyncSession, settings: Settings, *, user: User, actor: Actor
) -> Organization | None:
    """With TENANTRY_PERSONAL_WORKSPACES, every new account but a staff one gets its workspace."""
    if not settings.personal_workspaces or user.is_staff:
        return None
    return await create_personal_workspace(db, user=user, actor=actor)


async def _insert_organization(
    db: AsyncSession,
    *,
    owner: User,
    name: str,
    slug: str,
    brand_color: str,
    logo: Logo | None,
    actor: Actor,
    personal: bool = False,
) -> Organization:
    """What every new org gets: the row (slug already checked), its logo, its audit event, its
    owner. The callers decide who may create one."""
    org = Organization(
        name=name,
        slug=slug,
        brand_color=brand_color or None,
        logo_sha256=logo.sha256 if logo else None,
    )
    try:
        # In a savepoint: if someone takes the slug between our check and our insert, only this
        # insert is undone and the session stays usable for the form shown again.
        async with db.begin_nested():
            db.add(org)
            await db.flush()
    except IntegrityError:
        raise _SlugTakenMeanwhile from None
    if logo:
        db.add(_logo_row(org.id, logo))
    if personal:
        db.add(PersonalWorkspace(org_id=org.id, user_id=owner.id))
    after = {"name": name, "slug": slug, "brand_color": org.brand_color, "logo": org.logo_sha256}
    if personal:
        after["personal"] = True
    record_event(db, actor=actor, action="org.created", org_id=org.id, target=org_target(org), after=after)
    owner_role = await template_role(db, BuiltinRole.OWNER)
    await create_membership(db, org=org, user=owner, roles=[owner_role], actor=actor)
    return org


def _logo_row(org_id: UUID, logo: Logo) -> OrgLogo:
    return OrgLogo(
        org_id=org_id,
        sha256=logo.sha256,
        content_type=logo.content_type,
        byte_size=len(logo.data),
        data=logo.data,
    )


async def rename_organization(db: AsyncSession, *, org: Organization, name: str, actor: Actor) -> None:
    if name == org.name:
        return
    before = {"name": org.name}
    org.name = name
    record_event(
        db,
        actor=actor,
        action="org.renamed",
        org_id=org.id,
        target=org_target(org),
        before=before,
        after={"name": name},
    )
    await db.flush()


async def change_slug(db: AsyncSession, *, org: Organization, slug: str, actor: Actor) -> None:
    """Move the org to a new address; the old one redirects here permanently."""
    if slug == org.slug:
        return
    problem = slug_problem(slug)
    if problem:
        raise InvalidInput.on("slug", problem)
    if not await is_slug_available(db, slug, org_id=org.id):
        raise await _slug_taken_error(db, slug, org_id=org.id)
    old_slug = org.slug
    try:
        async with db.begin_nested():
            # Returning to a former slug: that address is live again, not a redirect.
            await db.execute(delete(SlugRedirect).where(SlugRedirect.old_slug == slug, SlugRedirect.org_id == org.id))
            db.add(SlugRedirect(old_slug=old_slug, org_id=org.id))
            org.slug = slug
            await db.flush()
    except IntegrityError:  # taken at the same moment by another org
        await db.refresh(org)
        raise await _slug_taken_error(db, slug, org_id=org.id) from None
    record_event(
        db,
        actor=actor,
        action="org.slug_changed",
        org_id=org.id,
        target=org_target(org),
        before={"slug": old_slug},
        after={"slug": slug},
    )


async def update_branding(
    db: AsyncSession,
    *,
    org: Organization,
    brand_color: str,
    logo: Logo | None,
    remove_logo: bool,
    actor: Actor,
) -> bool:
    """Change the accent colour and/or the logo. Returns whether anything changed."""
    before = {"brand_color": org.brand_color, "logo": org.logo_sha256}
    org.brand_color = brand_color or None
    if logo is not None:
        await db.execute(delete(OrgLogo).where(OrgLogo.org_id == org.id))
        db.add(_logo_row(org.id, logo))
        org.logo_sha256 = logo.sha256
    elif remove_logo and org.logo_sha256:
        await db.execute(delete(OrgLogo).where(OrgLogo.org_id == org.id))
        org.logo_sha256 = None
    after = {"brand_color": org.brand_color, "logo": org.logo_sha256}
    if after == before:
        return False
    record_event(
        db,
        actor=actor,
        action="org.branding_changed",
        org_id=org.id,
        target=org_target(org),
        before=before,
        after=after,
    )
    await db.flush()
    return True


async def delete_organization(
    db: AsyncSession, *, org: Organization, confirmation: str, restore_days: int, actor: Actor
) -> None:
    """Delete the org: hidden from everyone from this request on, and kept as it is for
    `restore_days` (support can restore it), after which `tenantry purge` removes it for good
    (orgs/lifecycle.py). The caller typed the slug to confirm."""
    if confirmation.strip().lower() != org.slug:
        raise InvalidInput.on("confirm", f"Type “{org.slug}” exactly to confirm.")
    # Locks the org (an invitation being accepted now waits, then sees it gone) and asks again,
    # under the lock, whether the actor may still delete it: demoted in another tab, they can't.
    await authority(db, org=org, actor=actor, require=Permission.ORG_DELETE)
    await db.refresh(org)
    if org.deleted_at is not None:  # deleted from another tab meanwhile
        return
    members = await count_active_members(db, org_id=org.id)
    org.deleted_at = utcnow()
    record_event(
        db,
        actor=actor,
        action="org.deleted",
        org_id=org.id,
        target=org_target(org),
        before={"name": org.name, "slug": org.slug, "active_members": members},
        after={
            "deleted_at": org.deleted_at.isoformat(),
            "restorable_until": (org.deleted_at + datetime.timedelta(days=restore_days)).isoformat(),
        },
    )
    await db.flush()


async def find_logo(db: AsyncSession, *, org_id: UUID, sha256: str) -> OrgLogo | None:
    return await db.scalar(select(OrgLogo).where(OrgLogo.org_id == org_id, OrgLogo.sha256 == sha256))


@dataclass
class SwitcherEntry:
    org_id: UUID
    name: str
    slug: str
    logo_url: str | None
    role_names: list[str] = field(default_factory=list)
    personal: bool = False  # the user's own personal workspace: shown first, apart, as "Personal"


async def switcher_entries(db: AsyncSession, *, user_id: UUID) -> list[SwitcherEntry]:
    """The user's orgs (active memberships, deleted orgs left out), their personal workspace first,
    then by name, with their roles in each. One statement."""
    rows = await db.execute(
        select(
            Organization.id,
            Organization.name,
            Organization.slug,
            Organization.logo_sha256,
            Role.name,
            Role.key,
            PersonalWorkspace.user_id,
        )
        .join(Membership, Membership.org_id == Organization.id)
        .outerjoin(
            PersonalWorkspace,
            and_(PersonalWorkspace.org_id == Organization.id, PersonalWorkspace.user_id == user_id),
        )
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .outerjoin(Role, Role.id == MembershipRole.role_id)
        .where(
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
            Organization.deleted_at.is_(None),
        )
        .order_by(PersonalWorkspace.user_id.is_(None), Organization.name, Organization.id)
    )
    entries: dict[UUID, SwitcherEntry] = {}
    roles: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    for org_id, name, slug, logo_sha, role_name, role_key, personal_of in rows:
        entries.setdefault(
            org_id, SwitcherEntry(org_id, name, slug, logo_url(org_id, logo_sha), personal=personal_of is not None)
        )
        if role_name:
            roles[org_id].append((role_key, role_name))
    for org_id, entry in entries.items():
        entry.role_names = [name for key, name in sorted(roles[org_id], key=lambda r: role_sort_key(*r))]
    return list(entries.values())


async def landing_org_slug(db: AsyncSession, *, user: User) -> str | None:
    """Where `/` takes a signed-in user: the org they used last, else their first org."""
    entries = await switcher_entries(db, user_id=user.id)
    if not entries:
        return None
    for entry in entries:
        if entry.org_id == user.last_org_id:
            return entry.slug
    return entries[0].slug


async def remember_last_org(db: AsyncSession, *, user_id: UUID, org_id: UUID) -> None:
    await db.execute(update(User).where(User.id == user_id).values(last_org_id=org_id))
