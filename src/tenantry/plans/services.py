"""What an org may use: its plan plus any override support granted, and the verbs that change them.

Entitlements are worked out from the database on every request (the org row and its override
row, loaded with the membership in one statement), never cached in a process: a change of plan
or an override reaches every instance on its next request, and an override past its end date
stops counting at that moment without any job running.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Role
from tenantry.access.permissions import Permission
from tenantry.access.services import authority, lock_org
from tenantry.accounts.services import require_staff
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.groups.models import Group
from tenantry.invitations.models import Invitation, InvitationStatus
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import fill, words
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.services import org_target
from tenantry.plans.catalog import FEATURE_TEXT, MAX_PLAN_SEATS, Feature, Plan, PlanCatalog, load_plan_catalog
from tenantry.plans.models import PlanOverride

MAX_EXTRA_SEATS = 100_000
MAX_OVERRIDE_DAYS = 3660


def plan_catalog(settings: Settings) -> PlanCatalog:
    return load_plan_catalog(settings.plans_file)


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    override: PlanOverride | None  # only while it applies
    own_cap: int | None  # the org's own seat limit, if it set one

    @property
    def plan_seat_limit(self) -> int | None:
        """The plan's seats plus any extra seats support granted; None: no limit."""
        if self.plan.seat_limit is None:
            return None
        extra = self.override.extra_seats if self.override else 0
        return min(self.plan.seat_limit + extra, MAX_PLAN_SEATS)

    @property
    def seat_limit(self) -> int | None:
        """What seat checks hold the org to: the plan's limit, or the org's own cap if lower."""
        limits = [limit for limit in (self.plan_seat_limit, self.own_cap) if limit is not None]
        return min(limits) if limits else None

    @property
    def extra_features(self) -> frozenset[Feature]:
        if self.override is None:
            return frozenset()
        return frozenset(Feature(f) for f in self.override.extra_features if f in Feature.__members__.values())

    @property
    def features(self) -> frozenset[Feature]:
        return self.plan.features | self.extra_features

    def has(self, feature: Feature | str) -> bool:
        return Feature(feature) in self.features

    def granted_by_support(self, feature: Feature) -> bool:
        return feature in self.extra_features and feature not in self.plan.features


def entitlements_for(
    catalog: PlanCatalog, org: Organization, override: PlanOverride | None, *, now: datetime.datetime | None = None
) -> Entitlements:
    active = override if override is not None and override.is_active(now or utcnow()) else None
    return Entitlements(plan=catalog.get(org.plan_key), override=active, own_cap=org.seat_limit)


async def load_entitlements(db: AsyncSession, settings: Settings, org: Organization) -> Entitlements:
    override = await db.scalar(select(PlanOverride).where(PlanOverride.org_id == org.id))
    return entitlements_for(plan_catalog(settings), org, override)


async def seats_in_use(db: AsyncSession, *, org_id: UUID) -> int:
    """Active members plus invitations that may still be accepted: what the seat limit counts."""
    members = await db.scalar(
        select(func.count()).where(Membership.org_id == org_id, Membership.status == MembershipStatus.ACTIVE)
    )
    invited = await db.scalar(
        select(func.count()).where(
            Invitation.org_id == org_id,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > utcnow(),
        )
    )
    return int(members or 0) + int(invited or 0)


async def free_seats(
    db: AsyncSession, settings: Settings, org: Organization, *, count_invitations: bool = True
) -> tuple[int | None, int]:
    """(the org's seat limit, seats still free) as of now; (None, 0) when there is no limit.
    Callers hold the org's lock while they count, so two requests can't take the last seat."""
    limit = (await load_entitlements(db, settings, org)).seat_limit
    if limit is None:
        return None, 0
    if count_invitations:
        return limit, limit - await seats_in_use(db, org_id=org.id)
    members = await db.scalar(
        select(func.count()).where(Membership.org_id == org.id, Membership.status == MembershipStatus.ACTIVE)
    )
    return limit, limit - int(members or 0)


def seat_limit_message(org: Organization, limit: int) -> str:
    return (
        f"{org.name} has {limit} seats, all of them taken (active members and pending invitations count). "
        "Free a seat or move to a plan with more seats first."
    )


def unavailable_sentence(catalog: PlanCatalog, entitlements: Entitlements, feature: Feature) -> str:
    """Why a feature is off, and where it is on: shown beside the disabled control and on refusal."""
    noun = fill(FEATURE_TEXT[feature][2])
    upgrade = catalog.first_with(feature)
    if upgrade is None:
        return f"This deployment doesn't offer {noun}."
    return f"The {entitlements.plan.name} plan doesn't include {noun}; the {upgrade.name} plan does."


class FeatureNotInPlan(NotPermitted):
    """A verb of a feature the org's plan lacks, asked for anyway (the guard refuses its routes;
    this is for a request that passed the guard just before a downgrade, and for the API)."""


async def require_feature(db: AsyncSession, settings: Settings, org: Organization, feature: Feature) -> None:
    """Call under the org's lock, like every rule about what the org may hold."""
    entitlements = await load_entitlements(db, settings, org)
    if not entitlements.has(feature):
        raise FeatureNotInPlan.on("__all__", unavailable_sentence(plan_catalog(settings), entitlements, feature))


# --- usage and changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    seats: int
    groups: int
    custom_roles: int
    own_retention_days: int | None = None  # the activity log's, if the org chose its own


async def usage_of(db: AsyncSession, *, org_id: UUID) -> Usage:
    groups = await db.scalar(select(func.count()).where(Group.org_id == org_id))
    custom_roles = await db.scalar(select(func.count()).where(Role.org_id == org_id))
    retention = await db.scalar(
        select(OrgSettingsOverrides.audit_retention_days).where(OrgSettingsOverrides.org_id == org_id)
    )
    seats = await seats_in_use(db, org_id=org_id)
    return Usage(
        seats=seats, groups=int(groups or 0), custom_roles=int(custom_roles or 0), own_retention_days=retention
    )


class DowngradeBlocked(InvalidInput):
    """A plan change that the org's current usage would break; each problem says what to change."""

    def __init__(self, plan: Plan, problems: list[str]) -> None:
        super().__init__({"plan": f"{plan.name} can't hold what this {words().org} uses now. Change this first:"})
        self.problems = problems


def downgrade_problems(usage: Usage, target: Entitlements, *, deployment_retention_days: int | None) -> list[str]:
    """What the org must change before `target` can hold it; empty: the change can go ahead."""
    problems = []
    kept, default = usage.own_retention_days, deployment_retention_days
    # Not a limit of the new plan but history the next purge would delete: said before, not after.
    if kept and default is not None and default < kept and not target.has(Feature.AUDIT_RETENTION):
        problems.append(
            f"{target.plan.name} keeps the activity log {default} days, and yours keeps {kept}: export "
            "what you need, then set its retention back to the default in the settings' policies."
        )
    limit = target.plan_seat_limit
    if limit is not None and usage.seats > limit:
        over = usage.seats - limit
        problems.append(
            f"{usage.seats} seats are taken (active members and pending invitations) and {target.plan.name} "
            f"has {limit}: deactivate or remove {over} member{'s' if over != 1 else ''}, or withdraw invitations."
        )
    if usage.groups and not target.has(Feature.GROUPS):
        problems.append(
            f"{target.plan.name} has no groups: delete your {usage.groups} group{'s' if usage.groups != 1 else ''}."
        )
    if usage.custom_roles and not target.has(Feature.CUSTOM_ROLES):
        n = usage.custom_roles
        problems.append(f"{target.plan.name} has no custom roles: delete your {n} custom role{'s' if n != 1 else ''}.")
    return problems


async def change_plan(
    db: AsyncSession, *, settings: Settings, org: Organization, plan_key: str, actor: Actor, by_staff: bool = False
) -> bool:
    """Move the org to another plan. Refused, with what to change first, when its usage wouldn't fit."""
    catalog = plan_catalog(settings)
    if not catalog.knows(plan_key):
        raise InvalidInput.on("plan", "Choose one of the plans listed.")
    if by_staff:
        await require_staff(db, actor)
        await lock_org(db, org.id)
    else:
        await authority(db, org=org, actor=actor, require=Permission.PLAN_MANAGE)
    await db.refresh(org)
    current = catalog.get(org.plan_key)
    if current.key == plan_key:
        return False
    override = await db.scalar(select(PlanOverride).where(PlanOverride.org_id == org.id))
    target = replace(entitlements_for(catalog, org, override), plan=catalog.get(plan_key))
    problems = downgrade_problems(
        await usage_of(db, org_id=org.id), target, deployment_retention_days=settings.audit_retention_days
    )
    if problems:
        raise DowngradeBlocked(target.plan, problems)
    org.plan_key = plan_key
    record_event(
        db,
        actor=actor,
        action="org.plan_changed",
        org_id=org.id,
        target=org_target(org),
        before={"plan": current.key, "plan_name": current.name},
        after={"plan": plan_key, "plan_name": target.plan.name},
    )
    await db.flush()
    return True


def _override_values(override: PlanOverride | None) -> dict:
    if override is None:
        return {}
    return {
        "extra_seats": override.extra_seats,
        "extra_features": sorted(override.extra_features),
        "ends_at": override.ends_at.isoformat() if override.ends_at else None,
        "note": override.note,
    }


async def set_plan_override(
    db: AsyncSession,
    *,
    org: Organization,
    extra_seats: int,
    extra_features: set[str],
    ends_at: datetime.datetime | None,
    note: str,
    actor: Actor,
) -> bool:
    """Support grants an org more than its plan (staff only; the controller checks who asks)."""
    if not 0 <= extra_seats <= MAX_EXTRA_SEATS:
        raise InvalidInput.on("extra_seats", f"Enter a number from 0 to {MAX_EXTRA_SEATS:,}.")
    unknown = extra_features - {f.value for f in Feature}
    if unknown:
        raise InvalidInput.on("features", "Choose among the features listed.")
    if ends_at is not None and ends_at <= utcnow():
        raise InvalidInput.on("ends_on", "Choose a day after today, or leave it empty for no end.")
    if ends_at is not None and ends_at > utcnow() + datetime.timedelta(days=MAX_OVERRIDE_DAYS):
        raise InvalidInput.on("ends_on", "Choose a day within ten years, or leave it empty for no end.")
    if extra_seats == 0 and not extra_features:
        raise InvalidInput.on("extra_seats", "Grant extra seats or at least one feature (or remove the override).")
    await require_staff(db, actor)
    await lock_org(db, org.id)
    override = await db.scalar(select(PlanOverride).where(PlanOverride.org_id == org.id))
    before = _override_values(override)
    if override is None:
        override = PlanOverride(org_id=org.id)
        db.add(override)
    override.extra_seats = extra_seats
    override.extra_features = sorted(extra_features)
    override.ends_at = ends_at
    override.note = note
    after = _override_values(override)
    if after == before:
        return False
    override.updated_at = utcnow()
    override.updated_by_id = actor.user_id
    record_event(
        db,
        actor=actor,
        action="org.plan_override_set",
        org_id=org.id,
        target=org_target(org),
        before=before or None,
        after=after,
    )
    await db.flush()
    return True


async def remove_plan_override(db: AsyncSession, *, org: Organization, actor: Actor) -> bool:
    """The org is back to exactly its plan. Seats or groups it uses beyond the plan stay (nobody
    loses access by it); it just can't add more until it fits again."""
    await require_staff(db, actor)
    await lock_org(db, org.id)
    override = await db.scalar(select(PlanOverride).where(PlanOverride.org_id == org.id))
    if override is None:
        return False
    record_event(
        db,
        actor=actor,
        action="org.plan_override_removed",
        org_id=org.id,
        target=org_target(org),
        before=_override_values(override),
    )
    await db.delete(override)
    await db.flush()
    return True


async def set_seat_limit(
    db: AsyncSession, *, settings: Settings, org: Organization, seat_limit: int | None, actor: Actor
) -> bool:
    """The org's own cap, below its plan's (e.g. to hold a budget). None: the plan's limit. A cap
    below the seats already taken is refused, so nobody loses access by it."""
    plan_limit = (await load_entitlements(db, settings, org)).plan_seat_limit
    highest = plan_limit or MAX_PLAN_SEATS
    if seat_limit is not None and not 1 <= seat_limit <= highest:
        raise InvalidInput.on(
            "seat_limit",
            f"Your plan has {plan_limit:,} seats: enter a number from 1 to {plan_limit:,}, or leave it empty."
            if plan_limit
            else f"Enter a number from 1 to {MAX_PLAN_SEATS:,}, or leave it empty.",
        )
    await authority(db, org=org, actor=actor, require=Permission.PLAN_MANAGE)
    await db.refresh(org)
    before = org.seat_limit
    if before == seat_limit:
        return False
    if seat_limit is not None:
        used = await seats_in_use(db, org_id=org.id)
        if seat_limit < used:
            raise InvalidInput.on(
                "seat_limit",
                f"{used} seats are taken now (active members and pending invitations). Deactivate members or "
                f"withdraw invitations first, or choose at least {used}.",
            )
    org.seat_limit = seat_limit
    record_event(
        db,
        actor=actor,
        action="org.seat_limit_changed",
        org_id=org.id,
        target=org_target(org),
        before={"seat_limit": before},
        after={"seat_limit": seat_limit},
    )
    await db.flush()
    return True
