"""The permission catalog: the portal's own permissions plus the SaaS product's, and the role
templates that exist in every org.

The deployment declares its product's permissions and extra role templates in a TOML file named
by TENANTRY_PERMISSIONS_FILE (see examples/permissions.toml):

    [[permissions]]
    key = "reports:read"
    description = "Read reports"
    heading = "Reports"

    [[roles]]
    key = "analyst"
    name = "Analyst"
    description = "Reads reports"
    permissions = ["reports:read"]

The file is read once at start-up; a mistake in it stops start-up with a sentence naming it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tenantry.access.permissions import (
    BUILTIN_ROLE_TEXT,
    MEMBER_PERMISSIONS,
    PERMISSION_DESCRIPTIONS,
    BuiltinRole,
    Permission,
    RoleTemplate,
)
from tenantry.config import ConfigError
from tenantry.lib.words import fill

PORTAL_HEADING = "{Org} administration"
PERMISSION_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,48}:[a-z][a-z0-9_.-]{0,48}$")
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class PermissionInfo:
    key: str
    description: str
    heading: str
    is_portal: bool


@dataclass(frozen=True)
class Catalog:
    permissions: dict[str, PermissionInfo]
    role_templates: list[RoleTemplate] = field(default_factory=list)

    def __contains__(self, key: object) -> bool:
        return key in self.permissions

    def describe(self, key: str) -> str:
        info = self.permissions.get(key)
        return info.description if info else "No longer declared by this deployment"

    def by_heading(self) -> list[tuple[str, list[PermissionInfo]]]:
        """Headings in declaration order, the portal's own first: the checkboxes of a role form."""
        grouped: dict[str, list[PermissionInfo]] = {}
        for info in self.permissions.values():
            grouped.setdefault(info.heading, []).append(info)
        return list(grouped.items())

    def unknown(self, keys: set[str]) -> set[str]:
        return {key for key in keys if key not in self.permissions}


def _portal_permissions() -> dict[str, PermissionInfo]:
    return {
        p.value: PermissionInfo(
            key=p.value, description=fill(PERMISSION_DESCRIPTIONS[p]), heading=fill(PORTAL_HEADING), is_portal=True
        )
        for p in Permission
    }


def load_catalog(path: str | Path | None) -> Catalog:
    """The catalog for this deployment: the portal's permissions, plus those of the file if any."""
    permissions = _portal_permissions()
    declared_roles: list[dict] = []
    if path:
        data = _read(Path(path))
        for index, item in enumerate(data.get("permissions", []), start=1):
            info = _permission(item, where=f"{path}: permission #{index}")
            if info.key in permissions:
                raise ConfigError(f"{path}: permission {info.key!r} is declared twice (or is one of Tenantry's own).")
            permissions[info.key] = info
        declared_roles = list(data.get("roles", []))
    everything = frozenset(permissions)
    templates = _builtin_templates(everything)
    taken = {template.key for template in templates}
    for index, item in enumerate(declared_roles, start=1):
        template = _role(item, known=everything, where=f"{path}: role #{index}")
        if template.key in taken:
            raise ConfigError(f"{path}: role {template.key!r} is declared twice (or is a built-in role).")
        taken.add(template.key)
        templates.append(template)
    return Catalog(permissions=permissions, role_templates=templates)


def _builtin_templates(everything: frozenset[str]) -> list[RoleTemplate]:
    """Owner holds every permission of the catalog, the product's included; admin all but
    deleting the org, so admins can give the product's roles; member only what the code says."""
    held = {
        BuiltinRole.OWNER: everything,
        BuiltinRole.ADMIN: everything - {Permission.ORG_DELETE.value},
        BuiltinRole.MEMBER: MEMBER_PERMISSIONS,
    }
    return [RoleTemplate(role.value, *map(fill, BUILTIN_ROLE_TEXT[role]), held[role]) for role in BuiltinRole]


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"TENANTRY_PERMISSIONS_FILE names {path}, which doesn't exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _text(item: dict, name: str, where: str, *, required: bool = True, limit: int = 300) -> str:
    value = item.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ConfigError(f"{where} needs a {name!r}: text of 1 to {limit} characters.")
    return value.strip()


def _permission(item: object, where: str) -> PermissionInfo:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a table with key, description and heading.")
    key = _text(item, "key", where, limit=100)
    if not PERMISSION_KEY.match(key):
        raise ConfigError(f"{where}: {key!r} is not a permission key; use 'resource:action', e.g. 'reports:read'.")
    return PermissionInfo(
        key=key,
        description=_text(item, "description", where),
        heading=_text(item, "heading", where, required=False, limit=60) or "Product",
        is_portal=False,
    )


def _role(item: object, known: frozenset[str], where: str) -> RoleTemplate:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a table with key, name, description and permissions.")
    key = _text(item, "key", where, limit=64)
    if not ROLE_KEY.match(key):
        raise ConfigError(f"{where}: {key!r} is not a role key; use lowercase letters, digits, - and _.")
    permissions = item.get("permissions", [])
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise ConfigError(f"{where}: 'permissions' must be a list of permission keys.")
    unknown = sorted(set(permissions) - known)
    if unknown:
        raise ConfigError(f"{where}: role {key!r} names permissions that aren't declared: {', '.join(unknown)}.")
    return RoleTemplate(
        key=key,
        name=_text(item, "name", where, limit=64),
        description=_text(item, "description", where, required=False),
        permissions=frozenset(permissions),
    )
