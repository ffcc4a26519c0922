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
    Permission.ORG_MANAGE: "Rename the organization, change its address and branding",
    Permission.ORG_DELETE: "Delete the organization",
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


def builtin_role_templates() -> list[RoleTemplate]:
    everything = frozenset(Permission)
    return [
        RoleTemplate(
            key=BuiltinRole.OWNER,
            name="Owner",
            description="Full control, including deleting the organization.",
            permissions=everything,
        ),
        RoleTemplate(
            key=BuiltinRole.ADMIN,
            name="Admin",
            description="Manages members, groups, roles and settings.",
            permissions=everything - {Permission.ORG_DELETE},
        ),
        RoleTemplate(
            key=BuiltinRole.MEMBER,
            name="Member",
            description="Belongs to the organization and sees who else does.",
            permissions=frozenset({Permission.MEMBERS_READ}),
        ),
    ]
