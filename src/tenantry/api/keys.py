"""API keys: create (shown once), list, revoke, and find the key behind a request.

An app key (created by staff or `tenantry create-api-key`) acts on every org; an org key (created
in the portal by members holding api_keys:manage, on plans with the api_keys feature) acts only on
its own org. A key reads "tnt_app_..." or "tnt_org_...", so a leaked one is recognisable (secret
scanners can match it); only its SHA-256 is stored.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.access.permissions import Permission
from tenantry.access.services import authority
from tenantry.accounts.confirmed import confirmed_person
from tenantry.accounts.services import require_staff
from tenantry.api.models import ApiKey, Scope
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.db.locks import lock_row
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.tokens import hash_token, new_token
from tenantry.lib.words import words
from tenantry.orgs.models import Organization
from tenantry.plans.catalog import Feature
from tenantry.plans.models import PlanOverride
from tenantry.plans.services import entitlements_for, plan_catalog, require_feature, unavailable_sentence
from tenantry.support.services import is_support_admin

APP_KEY_PREFIX, ORG_KEY_PREFIX = "tnt_app_", "tnt_org_"
SHOWN_PREFIX = 12  # "tnt_org_3Fq9": enough to tell keys apart, far too little to guess one
# last_used_at is written at most this often, so that a busy key doesn't mean a write per request.
TOUCH_INTERVAL = datetime.timedelta(seconds=60)


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    token: str  # shown once, never stored


def key_target(key: ApiKey) -> Target:
    return Target(type="api_key", id=str(key.id), label=f"{key.name} ({key.prefix}…)")


def key_label(key: ApiKey) -> str:
    """How a key appears as the actor of the events it causes."""
    return f"API key {key.name} ({key.prefix}…)"


def _check(name: str, scopes: Iterable[str], expires_at: datetime.datetime | None) -> tuple[str, list[str]]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not 1 <= len(name) <= 100:
        errors["name"] = "Give the key a name of 1 to 100 characters, e.g. the service that uses it."
    wanted = list(dict.fromkeys(scopes))
    if not wanted or any(scope not in set(Scope) for scope in wanted):
        errors["scopes"] = "Choose at least one of: " + ", ".join(Scope) + "."
    if expires_at is not None and expires_at <= utcnow():
        errors["expires_at"] = "Choose a moment in the future, or no expiry."
    if errors:
        raise InvalidInput(errors)
    return name, [scope for scope in Scope if scope in wanted]


async def _require_app_key_holder(db: AsyncSession, actor: Actor) -> None:
    """App keys act on every org with full authority, past each org's support access setting:
    the command line (the system) or a support-admin may make or revoke them, no one else."""
    if actor.user_id is None and not actor.org_key:
        return
    staff = await require_staff(db, actor)
    if not is_support_admin(staff):
        raise NotPermitted.on("__all__", "Only support-admins can make or revoke app keys.")


async def create_key(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization | None,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime.datetime | None,
    actor: Actor,
) -> NewKey:
    """An org key for `org`, or an app key (org None: staff, or the command line)."""
    name, scopes = _check(name, scopes, expires_at)
    # A key can invite people: made by someone whose address is unconfirmed, it would send mail
    # to others in the name of an address they may not own.
    await confirmed_person(db, actor)
    if org is None:
        await _require_app_key_holder(db, actor)
    else:
        await authority(db, org=org, actor=actor, require=Permission.API_KEYS_MANAGE)
        await require_feature(db, settings, org, Feature.API_KEYS)
    token = (APP_KEY_PREFIX if org is None else ORG_KEY_PREFIX) + new_token()
    row = ApiKey(
        org_id=org.id if org else None,
        name=name,
        prefix=token[:SHOWN_PREFIX],
        token_hash=hash_token(token),
        scopes=scopes,
        created_at=utcnow(),
        created_by_user_id=actor.user_id,
        created_by_label=actor.label[:420],
        expires_at=expires_at,
    )
    db.add(row)
    await db.flush()
    record_event(
        db,
        actor=actor,
        action="api_key.created",
        org_id=row.org_id,
        target=key_target(row),
        after={
            "kind": "app" if org is None else "org",
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    await db.flush()
    return NewKey(row=row, token=token)


async def revoke_key(db: AsyncSession, *, key_id: UUID, org: Organization | None, actor: Actor) -> bool:
    """Revoke an org's key (org given) or an app key (org None: staff). False: revoked already."""
    if org is None:
        await _require_app_key_holder(db, actor)
    else:
        await authority(db, org=org, actor=actor, require=Permission.API_KEYS_MANAGE)
    await lock_row(db, ApiKey, key_id, column="name")  # two revokes at once: one event
    owner = ApiKey.org_id.is_(None) if org is None else ApiKey.org_id == org.id
    key = await db.scalar(select(ApiKey).where(ApiKey.id == key_id, owner).execution_options(populate_existing=True))
    if key is None:
        raise NotFound
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    record_event(db, actor=actor, action="api_key.revoked", org_id=key.org_id, target=key_target(key))
    await db.flush()
    return True


async def keys_of(db: AsyncSession, *, org_id: UUID | None) -> list[ApiKey]:
    """An org's keys (org_id None: the app keys), live ones first, newest first."""
    owner = ApiKey.org_id.is_(None) if org_id is None else ApiKey.org_id == org_id
    rows = await db.scalars(
        select(ApiKey).where(owner).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(rows)


def is_live(key: ApiKey) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > utcnow())


# Where a request keeps the key it presented once it has been looked up (scope["state"]).
PRESENTED = "api_key_presented"


@dataclass(frozen=True)
class Presented:
    """The live key behind a bearer token, and why it may not be used now, if it may not."""

    key: ApiKey
    refusal: str | None = None


async def authenticate(sessionmaker: async_sessionmaker, settings: Settings, token: str) -> Presented | None:
    """The live key behind a bearer token; None when unknown, revoked or expired. An org key of a
    deleted org, or of one whose plan no longer includes API keys, comes with a refusal. Notes the
    key's use (at most once a minute) in a short transaction of its own."""
    if not token.startswith((APP_KEY_PREFIX, ORG_KEY_PREFIX)) or len(token) > 200:
        return None
    async with sessionmaker() as db:
        row = (
            await db.execute(
                select(ApiKey, Organization, PlanOverride)
                .outerjoin(Organization, Organization.id == ApiKey.org_id)
                .outerjoin(PlanOverride, PlanOverride.org_id == ApiKey.org_id)
                .where(ApiKey.token_hash == hash_token(token))
            )
        ).first()
        if row is None or not is_live(row[0]):
            return None
        key, org, override = row
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
            await db.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
            await db.commit()
            key.last_used_at = now
    if org is None:
        return Presented(key)
    if org.deleted_at is not None:
        return Presented(key, refusal=f"This key's {words().org} has been deleted.")
    catalog = plan_catalog(settings)
    entitlements = entitlements_for(catalog, org, override)
    if not entitlements.has(Feature.API_KEYS):
        return Presented(key, refusal=unavailable_sentence(catalog, entitlements, Feature.API_KEYS))
    return Presented(key)
