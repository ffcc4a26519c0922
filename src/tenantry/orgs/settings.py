"""An org's policies: the deployment's defaults (TENANTRY_*), and what the org chose instead.

`OrgSettings` is what applies to one org, each value with where it comes from; it is computed
from the deployment's Settings and the org's `org_settings` row (None: inherit). The guard
(orgs/context.py) builds it from the row it loads with the org, so pages pay no extra statement.
`update_org_settings` is the one verb that changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.access.services import (
    EffectivePermissions,
    authority,
    check_may_grant,
    default_role,
    roles_of_org,
)
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.lib.domains import DomainProblem, domain_of, parse_domains
from tenantry.lib.errors import NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import words
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.services import org_target
from tenantry.plans.catalog import Feature
from tenantry.plans.models import PlanOverride
from tenantry.plans.services import entitlements_for, load_entitlements, plan_catalog, unavailable_sentence

# The same range the invitation form offers an inviter.
MIN_EXPIRY_DAYS, MAX_EXPIRY_DAYS = 1, 30

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One effective value: the org's own choice, or the deployment's default."""

    value: T
    default: T
    inherited: bool

    @property
    def source(self) -> str:
        return "deployment default" if self.inherited else f"this {words().org}"


def _pick(own: T | None, default: T) -> Setting[T]:
    return Setting(value=default, default=default, inherited=True) if own is None else Setting(own, default, False)


@dataclass(frozen=True)
class OrgSettings:
    invitation_expiry_days: Setting[int]
    invitation_email_domains: Setting[list[str]]  # empty: any domain
    session_hours: Setting[int | None]  # None: no limit beyond the deployment's sessions
    members_see_each_other: Setting[bool]
    # Days the activity log keeps events (None: forever); an org's own only counts while its plan
    # includes audit_retention (see retention_overrides).
    audit_retention_days: Setting[int | None]
    # Whether support staff may view the org as its members do (support/models.py SupportAccess).
    support_access: Setting[str]
    # The default role is organizations.default_role_id (None: this deployment role template).
    default_role_id: UUID | None
    deployment_default_role: str

    def allows_email(self, email: str) -> bool:
        domains = self.invitation_email_domains.value
        return not domains or domain_of(email) in domains


def deployment_domains(settings: Settings) -> list[str]:
    return parse_domains(settings.invitation_email_domains)  # checked at start-up


def org_settings_of(settings: Settings, org: Organization, row: OrgSettingsOverrides | None) -> OrgSettings:
    """The effective settings of `org`, given its overrides row (None: it has none)."""
    row = row or OrgSettingsOverrides()
    return OrgSettings(
        invitation_expiry_days=_pick(row.invitation_expiry_days, settings.invitation_expiry_days),
        invitation_email_domains=_pick(
            list(row.invitation_email_domains) if row.invitation_email_domains is not None else None,
            deployment_domains(settings),
        ),
        session_hours=_pick(row.session_hours, settings.org_session_hours),
        members_see_each_other=_pick(row.members_see_each_other, settings.members_see_each_other),
        audit_retention_days=_pick(row.audit_retention_days, settings.audit_retention_days),
        support_access=_pick(row.support_access, settings.support_access),
        default_role_id=org.default_role_id,
        deployment_default_role=settings.default_role,
    )


async def load_org_settings(db: AsyncSession, *, settings: Settings, org: Organization) -> OrgSettings:
    row = await db.scalar(select(OrgSettingsOverrides).where(OrgSettingsOverrides.org_id == org.id))
    return org_settings_of(settings, org, row)


def apply_policies(permissions: EffectivePermissions, org_settings: OrgSettings) -> EffectivePermissions:
    """What the org's policies take away from what the roles give. The guard applies it to the
    caller's permissions (so guards and templates follow); a member's page to the member shown."""
    if not org_settings.members_see_each_other.value and not permissions.has(Permission.MEMBERS_MANAGE):
        permissions = permissions.without(Permission.MEMBERS_READ)
    return permissions


def check_invitation_domains(org_settings: OrgSettings, addresses: list[str], *, field: str = "emails") -> None:
    """Refuse addresses outside the org's allowed domains, naming both."""
    outside = [address for address in addresses if not org_settings.allows_email(address)]
    if outside:
        allowed = ", ".join(org_settings.invitation_email_domains.value)
        shown = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
        raise InvalidInput.on(
            field,
            f"Invitations can only go to addresses at {allowed}. Not allowed: {shown}.",
        )


@dataclass(frozen=True)
class PolicyChoices:
    """What the org wants; None for each: inherit the deployment's default."""

    invitation_expiry_days: int | None = None
    default_role_id: UUID | None = None
    invitation_email_domains: list[str] | str | None = None  # empty: any domain, whatever the default
    session_hours: int | None = None
    members_see_each_other: bool | None = None
    audit_retention_days: int | None = None


MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 7, 3650


def _check_choices(settings: Settings, choices: PolicyChoices) -> list[str] | None:
    """Shape and ranges; returns the domains, normalized. Every problem is reported at once."""
    errors: dict[str, str] = {}
    days = choices.invitation_expiry_days
    if days is not None and not MIN_EXPIRY_DAYS <= days <= MAX_EXPIRY_DAYS:
        errors["expiry_days"] = f"Choose between {MIN_EXPIRY_DAYS} and {MAX_EXPIRY_DAYS} days."
    hours = choices.session_hours
    if hours is not None and not 1 <= hours <= settings.session_absolute_hours:
        errors["session_hours"] = (
            f"Choose between 1 and {settings.session_absolute_hours} hours "
            f"(sessions end after {settings.session_absolute_hours} hours anyway)."
        )
    retention = choices.audit_retention_days
    if retention is not None and not MIN_RETENTION_DAYS <= retention <= MAX_RETENTION_DAYS:
        errors["audit_retention_days"] = f"Choose between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS:,} days."
    domains = None
    if choices.invitation_email_domains is not None:
        try:
            domains = parse_domains(choices.invitation_email_domains)
        except DomainProblem as exc:
            errors["domains"] = str(exc)
    if errors:
        raise InvalidInput(errors)
    return domains


async def overrides_to_change(db: AsyncSession, org: Organization) -> OrgSettingsOverrides:
    """The org's overrides row as it is now (a new, empty one if it has none), for a verb that
    holds the org's lock to change it."""
    row = await db.scalar(
        select(OrgSettingsOverrides)
        .where(OrgSettingsOverrides.org_id == org.id)
        .execution_options(populate_existing=True)
    )
    return row or OrgSettingsOverrides(org_id=org.id)


async def update_org_settings(
    db: AsyncSession, *, settings: Settings, org: Organization, choices: PolicyChoices, actor: Actor
) -> bool:
    """Set every policy at once; one org.settings_changed event with what changed. False: nothing did."""
    domains = _check_choices(settings, choices)
    access = await authority(db, org=org, actor=actor, require=Permission.ORG_MANAGE)
    await db.refresh(org, ["default_role_id"])
    row = await overrides_to_change(db, org)
    before: dict[str, object] = {}
    after: dict[str, object] = {}

    if choices.default_role_id != org.default_role_id:
        previous = await default_role(db, org=org, deployment_default=settings.default_role)
        infos = {info.role.id: info for info in await roles_of_org(db, org_id=org.id)}
        wanted = None
        if choices.default_role_id is not None:
            info = infos.get(choices.default_role_id)
            if info is None:
                raise InvalidInput.on("default_role", "Choose one of the roles listed.")
            if info.is_owner:
                raise InvalidInput.on("default_role", "New members can't become owners by default.")
            if not access.has(Permission.ROLES_MANAGE):
                raise NotPermitted.on("default_role", "Only people who manage roles can change the default role.")
            check_may_grant(access, [info], field="default_role")
            wanted = info.role
        before["default_role"] = None if org.default_role_id is None else previous.key
        after["default_role"] = None if wanted is None else wanted.key
        org.default_role_id = choices.default_role_id

    wanted_values = {
        "invitation_expiry_days": choices.invitation_expiry_days,
        "invitation_email_domains": domains,
        "session_hours": choices.session_hours,
        "members_see_each_other": choices.members_see_each_other,
        "audit_retention_days": await _retention_choice(db, settings, org, row, choices.audit_retention_days),
    }
    return await record_overrides(db, org=org, row=row, values=wanted_values, actor=actor, before=before, after=after)


async def record_overrides(
    db: AsyncSession,
    *,
    org: Organization,
    row: OrgSettingsOverrides,
    values: dict[str, object],
    actor: Actor,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> bool:
    """Set the overrides row's columns to `values` and write one org.settings_changed event with
    what changed (plus any `before`/`after` the caller changed elsewhere). False: nothing did."""
    before, after = dict(before or {}), dict(after or {})
    for name, value in values.items():
        current = getattr(row, name)
        if current != value:
            before[name], after[name] = current, value
            setattr(row, name, value)
    if not after:
        return False
    db.add(row)
    record_event(
        db,
        actor=actor,
        action="org.settings_changed",
        org_id=org.id,
        target=org_target(org),
        before=before,
        after=after,
    )
    await db.flush()
    return True


async def _retention_choice(
    db: AsyncSession, settings: Settings, org: Organization, row: OrgSettingsOverrides, wanted: int | None
) -> int | None:
    """An org's own retention is for plans that include it. Without the feature the form can't
    send one (what was set stays, unused); a request that tries anyway is refused."""
    entitlements = await load_entitlements(db, settings, org)
    if entitlements.has(Feature.AUDIT_RETENTION):
        return wanted
    if wanted is not None and wanted != row.audit_retention_days:
        sentence = unavailable_sentence(plan_catalog(settings), entitlements, Feature.AUDIT_RETENTION)
        raise NotPermitted.on("audit_retention_days", sentence)
    return row.audit_retention_days


async def retention_overrides(db: AsyncSession, settings: Settings) -> dict[UUID, int]:
    """The orgs whose own retention applies (set, and their plan includes it): org id -> days."""
    catalog = plan_catalog(settings)
    rows = await db.execute(
        select(Organization, OrgSettingsOverrides.audit_retention_days, PlanOverride)
        .join(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
        .outerjoin(PlanOverride, PlanOverride.org_id == Organization.id)
        .where(OrgSettingsOverrides.audit_retention_days.is_not(None))
    )
    return {
        org.id: days
        for org, days, override in rows
        if entitlements_for(catalog, org, override).has(Feature.AUDIT_RETENTION)
    }
