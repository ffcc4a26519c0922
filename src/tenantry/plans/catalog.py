"""The plan catalog: which plans the deployment sells, their seat limits and premium features.

Declared in a TOML file named by TENANTRY_PLANS_FILE (see examples/plans.toml):

    default = "free"          # the plan of a new org

    [[plans]]
    key = "free"
    name = "Free"
    seat_limit = 5            # active members plus pending invitations; leave it out for no limit
    features = []
    price = "Free forever"    # optional, shown on the plan page

Plans are listed from the smallest to the largest: "upgrade" means a plan further down the file.
Without a file there is one plan, "Standard", with every feature and no seat limit, so a
deployment that doesn't sell plans never sees one in its way.

The file is read once per process (every instance reads the same file); which plan an org is on
lives in the database, so a change of plan reaches every instance on its next request.
"""

from __future__ import annotations

import enum
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tenantry.config import ConfigError
from tenantry.lib.words import fill

PLAN_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_PLAN_SEATS = 1_000_000


class Feature(enum.StrEnum):
    GROUPS = "groups"
    CUSTOM_ROLES = "custom_roles"
    AUDIT_EXPORT = "audit_export"
    AUDIT_RETENTION = "audit_retention"
    API_KEYS = "api_keys"
    SSO = "sso"


# name, what it does, and the name inside a sentence ("the Team plan doesn't include ...").
FEATURE_TEXT: dict[Feature, tuple[str, str, str]] = {
    Feature.GROUPS: ("Groups", "Teams of members that hold roles together", "groups"),
    Feature.CUSTOM_ROLES: ("Custom roles", "Roles of your own, with the permissions you choose", "custom roles"),
    Feature.AUDIT_EXPORT: ("Activity export", "Download the activity log as CSV or JSON Lines", "activity export"),
    Feature.AUDIT_RETENTION: ("Activity retention", "Choose how long the activity log is kept", "activity retention"),
    Feature.API_KEYS: ("API keys", "Keys for your own backend to manage this {org}", "API keys"),
    Feature.SSO: ("Single sign-on", "Sign in through your identity provider", "single sign-on"),
}


def feature_texts() -> dict[Feature, tuple[str, str, str]]:
    """FEATURE_TEXT in the deployment's word for an organization (lib/words.py)."""
    return {feature: tuple(fill(part) for part in text) for feature, text in FEATURE_TEXT.items()}


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    seat_limit: int | None
    features: frozenset[Feature]
    price: str = ""
    description: str = ""

    def has(self, feature: Feature) -> bool:
        return feature in self.features


@dataclass(frozen=True)
class PlanCatalog:
    plans: tuple[Plan, ...]
    default_key: str

    def get(self, key: str | None) -> Plan:
        """The plan of that key; an org whose plan the file no longer lists is on the default."""
        for plan in self.plans:
            if plan.key == key:
                return plan
        return self.default

    @property
    def default(self) -> Plan:
        return next(plan for plan in self.plans if plan.key == self.default_key)

    def knows(self, key: str) -> bool:
        return any(plan.key == key for plan in self.plans)

    def rank(self, key: str | None) -> int:
        return self.plans.index(self.get(key))

    def first_with(self, feature: Feature) -> Plan | None:
        """The smallest plan that includes a feature: where an upgrade link points."""
        return next((plan for plan in self.plans if plan.has(feature)), None)

    @property
    def sells_plans(self) -> bool:
        return len(self.plans) > 1


STANDARD = PlanCatalog(
    plans=(Plan(key="standard", name="Standard", seat_limit=None, features=frozenset(Feature)),),
    default_key="standard",
)


@functools.cache
def load_plan_catalog(path: str) -> PlanCatalog:
    """The deployment's plans; a mistake in the file stops start-up with a sentence naming it."""
    if not path:
        return STANDARD
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"TENANTRY_PLANS_FILE names {path}, which doesn't exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    items = data.get("plans")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path} declares no plans: add at least one [[plans]] table.")
    plans: list[Plan] = []
    for index, item in enumerate(items, start=1):
        plan = _plan(item, where=f"{path}: plan #{index}")
        if any(p.key == plan.key for p in plans):
            raise ConfigError(f"{path}: plan {plan.key!r} is declared twice.")
        plans.append(plan)
    default_key = data.get("default", plans[0].key)
    if not any(p.key == default_key for p in plans):
        raise ConfigError(f"{path}: the default plan {default_key!r} is not one of the plans declared.")
    return PlanCatalog(plans=tuple(plans), default_key=default_key)


def _plan(item: object, where: str) -> Plan:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a table with key, name, seat_limit and features.")
    key, name = item.get("key"), item.get("name")
    if not isinstance(key, str) or not PLAN_KEY.match(key):
        raise ConfigError(f"{where}: 'key' must be lowercase letters, digits, - and _ (up to 32), e.g. \"team\".")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
        raise ConfigError(f"{where}: 'name' must be text of 1 to 40 characters.")
    seats = item.get("seat_limit")
    whole = isinstance(seats, int) and not isinstance(seats, bool)
    if seats is not None and (not whole or not 1 <= seats <= MAX_PLAN_SEATS):
        raise ConfigError(f"{where}: 'seat_limit' must be a whole number from 1 to {MAX_PLAN_SEATS:,} (or left out).")
    features = item.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ConfigError(f"{where}: 'features' must be a list of feature names.")
    known = {f.value for f in Feature}
    unknown = sorted(set(features) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown feature {', '.join(map(repr, unknown))}; the features are {', '.join(sorted(known))}."
        )
    price, description = item.get("price", ""), item.get("description", "")
    if not isinstance(price, str) or not isinstance(description, str):
        raise ConfigError(f"{where}: 'price' and 'description' must be text.")
    return Plan(
        key=key,
        name=name.strip(),
        seat_limit=seats,
        features=frozenset(Feature(f) for f in features),
        price=price.strip()[:60],
        description=description.strip()[:200],
    )
