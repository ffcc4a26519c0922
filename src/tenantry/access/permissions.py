"""The one permission vocabulary: the portal's own permissions and the built-in roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Permission(enum.StrEnum):
    ORG_MANAGE = "org:manage"
    ORG_DELETE = "org:delete"
    MEMBERS_READ = "members:read"
    MEMBERS_INVITE = "members:invite"
    MEMBERS_MANAGE = "members:manage"
    GROUPS_MANAGE = "groups:manage"
    ROLES_MANAGE = "roles:manage"
    PLAN_MANAGE = "plan:manage"
    AUDIT_READ = "audit:read"
    API_KEYS_MANAGE = "api_keys:manage"


PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.ORG_MANAGE: "Rename the {org}, change its address and branding",
    Permission.ORG_DELETE: "Delete the {org}",
    Permission.MEMBERS_READ: "See the list of members",
    Permission.MEMBERS_INVITE: "Invite people",
    Permission.MEMBERS_MANAGE: "Change members' roles, deactivate and remove members",
    Permission.GROUPS_MANAGE: "Create groups and manage their members and roles",
    Permission.ROLES_MANAGE: "Define custom roles",
    Permission.PLAN_MANAGE: "See usage and change the plan",
    Permission.AUDIT_READ: "Read the activity log",
    Permission.API_KEYS_MANAGE: "Create and revoke API keys",
}


class BuiltinRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


@dataclass(frozen=True)
class RoleTemplate:
    key: str
    name: str
    description: str
    permissions: frozenset[str]


BUILTIN_ROLE_TEXT: dict[BuiltinRole, tuple[str, str]] = {
    BuiltinRole.OWNER: ("Owner", "Full control, including deleting the {org}."),
    BuiltinRole.ADMIN: ("Admin", "Manages members, groups, roles and settings."),
    BuiltinRole.MEMBER: ("Member", "Belongs to the {org} and sees who else does."),
}
# Owner holds the whole catalog and admin all of it but deleting the org (access/catalog.py).
MEMBER_PERMISSIONS = frozenset({Permission.MEMBERS_READ.value})
