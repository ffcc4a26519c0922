"""Each audit event as a sentence a person reads: "Adam Admin invited mia@acme.example as member".

Sentences are plain text; templates escape them like any other value, so a name such as
``<script>`` or one with a newline can't break the page or the line.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tenantry.audit.models import AuditEvent
from tenantry.lib.words import fill, words


def _list(values: Any) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(str(v) for v in values) or "no role"
    return str(values)


def _value(event: AuditEvent, side: str, key: str, default: str = "") -> str:
    data = (event.after if side == "after" else event.before) or {}
    value = data.get(key, default)
    return _list(value) if isinstance(value, list | tuple) else str(value if value is not None else "none")


def _about_the_actor(event: AuditEvent, address: str) -> bool:
    """A person's own doing (accepting an invitation): the address acted on is theirs, which
    ends their label ("Name <address>")."""
    return bool(event.actor_user_id) and event.actor_label.endswith(f"<{address}>")


_SETTING_NAMES = {
    "invitation_expiry_days": "invitation expiry (days)",
    "default_role": "the default role",
    "invitation_email_domains": "the email domains invitations may go to",
    "session_hours": "the hours before members sign in again",
    "audit_retention_days": "the days the activity log is kept",
    "members_see_each_other": "whether members see each other",
    "support_access": "support access",
}


def _setting_value(value: Any) -> str:
    if value is None:
        return "the deployment default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "any"
    return str(value)


def _settings_change(event: AuditEvent) -> str:
    after = event.after or {}
    changes = "; ".join(
        f"{_SETTING_NAMES.get(key, key.replace('_', ' '))} to {_setting_value(value)}" for key, value in after.items()
    )
    return f"changed {changes or 'settings'}"


def _override_granted(event: AuditEvent) -> str:
    after = event.after or {}
    granted = [f"{after['extra_seats']} extra seats"] if after.get("extra_seats") else []
    granted += [str(f).replace("_", " ") for f in after.get("extra_features", [])]
    until = ""
    if after.get("ends_at"):  # the override ends as its last day ends: name that day
        last_second = datetime.datetime.fromisoformat(str(after["ends_at"])) - datetime.timedelta(seconds=1)
        until = f" through {last_second.date().isoformat()} (UTC)"
    note = f" ({after['note']})" if after.get("note") else ""
    return f"granted {', '.join(granted) or 'nothing'} beyond the plan{until}{note}"


def _metadata_keys(event: AuditEvent) -> str:
    """The keys a metadata change added, changed or removed: "industry, trial"."""
    before = (event.before or {}).get("metadata") or {}
    after = (event.after or {}).get("metadata") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    keys = sorted(k for k in {*before, *after} if repr(before.get(k, ...)) != repr(after.get(k, ...)))
    shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return f" ({shown})" if shown else ""


def _sessions_ended(event: AuditEvent) -> str:
    """' (2 sessions)': how many browsers support signed out; '' when the event doesn't say."""
    ended = (event.after or {}).get("sessions_ended")
    if not isinstance(ended, int):
        return ""
    return f" ({ended} session{'' if ended == 1 else 's'})"


def _restorable_until(event: AuditEvent) -> str:
    """' (restorable until 31 Dec 2026)', from the date the event recorded; '' for older events."""
    until = (event.after or {}).get("restorable_until")
    try:
        when = datetime.datetime.fromisoformat(until) if isinstance(until, str) else None
    except ValueError:
        when = None
    return f" (restorable until {when:%-d %b %Y})" if when else ""


def _quoted_reason(event: AuditEvent, key: str = "reason") -> str:
    after = event.after or {}
    reason = f": “{after[key]}”" if after.get(key) else ""
    ticket = f" (ticket {after['ticket']})" if after.get("ticket") else ""
    return reason + ticket


def _impersonation_started(event: AuditEvent) -> str:
    after = event.after or {}
    mode = f"with write access ({after.get('write_reason')})" if after.get("write") else "read-only"
    return (
        f"started viewing as {event.target_label}, {mode}, for up to {_count(event, 'minutes', 'minute')}"
        f"{_quoted_reason(event)}"
    )


def _count(event: AuditEvent, key: str, unit: str) -> str:
    """'1 hour', '4 hours'; 'less than a minute' for 0 minutes."""
    number = (event.after or {}).get(key) or 0
    if not number and unit == "minute":
        return "less than a minute"
    return f"{number} {unit}{'s' if number != 1 else ''}"


def _request_made(event: AuditEvent) -> str:
    after = event.after or {}
    verb = "opened" if after.get("method") in ("GET", "HEAD") else "sent"
    return f"{verb} {after.get('method', '')} {after.get('path', '')} → {after.get('status', '')}"


def _key_created(event: AuditEvent) -> str:
    after = event.after or {}
    kind = "app key" if after.get("kind") == "app" else "API key"
    scopes = ", ".join(str(s) for s in after.get("scopes") or []) or "none"
    expiry = ""
    if after.get("expires_at"):
        expires = datetime.datetime.fromisoformat(str(after["expires_at"])).astimezone(datetime.UTC)
        expiry = f", expiring {expires:%Y-%m-%d %H:%M} UTC"
    return f"created the {kind} {event.target_label} with scopes {scopes}{expiry}"


# action -> what follows the actor's name; {target} is the event's target label, {org} the
# deployment's word for an organization (lib/words.py).
PHRASES: dict[str, str | Callable[[AuditEvent], str]] = {
    "org.created": lambda e: (
        f"created the personal workspace {e.target_label}"
        if (e.after or {}).get("personal")
        else f"created the {words().org} {e.target_label}"
    ),
    "org.renamed": lambda e: f"renamed the {words().org} to {_value(e, 'after', 'name')}",
    "org.slug_changed": lambda e: f"moved the {words().org} to /o/{_value(e, 'after', 'slug')}",
    "org.branding_changed": "changed the logo or colour",
    "org.deleted": lambda e: f"deleted the {words().org} {e.target_label}{_restorable_until(e)}",
    "org.restored": "restored the {org} {target}",
    "org.purged": "— the {org} {target} was removed for good, past its restore window",
    "org.default_role_changed": lambda e: f"made {_value(e, 'after', 'default_role')} the default role",
    "org.settings_changed": _settings_change,
    "org.seat_limit_changed": lambda e: f"set the seat limit to {_value(e, 'after', 'seat_limit')}",
    "org.ownership_transferred": "handed ownership to {target}",
    "org.plan_changed": lambda e: (
        f"moved the {words().org} from the {_value(e, 'before', 'plan_name')} plan "
        f"to the {_value(e, 'after', 'plan_name')} plan"
    ),
    "org.plan_override_set": _override_granted,
    "org.plan_override_removed": "removed what support had granted beyond the plan",
    "org.metadata_changed": lambda e: f"changed the {words().org}'s metadata{_metadata_keys(e)}",
    "membership.created": lambda e: (
        f"joined as {_value(e, 'after', 'roles')}"
        if _about_the_actor(e, e.target_label)
        else f"added {e.target_label} as {_value(e, 'after', 'roles')}"
    ),
    "membership.roles_changed": lambda e: (
        f"changed the roles of {e.target_label} from {_value(e, 'before', 'roles')} to {_value(e, 'after', 'roles')}"
    ),
    "membership.deactivated": "deactivated {target}",
    "membership.reactivated": "reactivated {target}",
    "membership.removed": "removed {target} from the {org}",
    "membership.left": "left the {org}",
    "invitation.created": lambda e: f"invited {e.target_label} as {_value(e, 'after', 'roles')}",
    "invitation.resent": "sent the invitation to {target} again",
    "invitation.revoked": "withdrew the invitation to {target}",
    "invitation.accepted": "accepted the invitation sent to {target}",
    "email.delivered": lambda e: (
        f"— the email to {e.target_label} was written to the server's log (no mail server is set up)"
        if (e.after or {}).get("to_log")
        else f"— the email to {e.target_label} was delivered"
    ),
    "email.failed": "— the email to {target} could not be delivered",
    "role.created": "created the role {target}",
    "role.updated": "changed the role {target}",
    "role.deleted": "deleted the role {target}",
    "group.created": "created the group {target}",
    "group.renamed": lambda e: f"renamed the group {_value(e, 'before', 'name')} to {_value(e, 'after', 'name')}",
    "group.updated": "changed the description of the group {target}",
    "group.deleted": "deleted the group {target}",
    "group.member_added": lambda e: (
        f"joined the group {e.target_label}"
        if _about_the_actor(e, _value(e, "after", "member"))
        else f"added {_value(e, 'after', 'member')} to the group {e.target_label}"
    ),
    "group.member_removed": lambda e: f"removed {_value(e, 'before', 'member')} from the group {e.target_label}",
    # Events before role names were recorded name the role by its key.
    "group.role_given": lambda e: (
        f"gave the group {e.target_label} the role {_value(e, 'after', 'role_name', _value(e, 'after', 'role'))}"
    ),
    "group.role_taken": lambda e: (
        f"took the role {_value(e, 'before', 'role_name', _value(e, 'before', 'role'))} from the group {e.target_label}"
    ),
    "user.signed_up": "created an account",
    "user.signed_in": "signed in",
    "user.sign_in_failed": "— a sign-in to {target} failed (wrong password)",
    "user.signed_out": "signed out",
    "user.profile_updated": "changed their profile",
    "user.password_changed": "changed their password",
    "user.password_reset_requested": "asked for a password reset link",
    "user.password_reset": "reset their password with an emailed link",
    "user.password_set": "chose their password",
    "user.email_verified": "confirmed their email address",
    "user.verification_sent": "asked for a new confirmation link",
    "user.session_revoked": "signed out one of their other browsers",
    "user.other_sessions_revoked": "signed out all their other browsers",
    "user.staff_created": "created the staff account {target}",
    "user.created": "created the account {target}",
    "user.metadata_changed": lambda e: f"changed the metadata of {e.target_label}{_metadata_keys(e)}",
    "support.impersonation_started": _impersonation_started,
    "support.impersonation_ended": lambda e: (
        f"stopped viewing as {e.target_label} after {_count(e, 'minutes', 'minute')}"
    ),
    "support.impersonation_expired": lambda e: (
        f"stopped viewing as {e.target_label}: the time ran out after {_count(e, 'minutes', 'minute')}"
    ),
    "support.request": _request_made,
    "support.break_glass": lambda e: (
        f"entered the {words().org} although support access is off (break-glass){_quoted_reason(e)}"
    ),
    "support.access_requested": lambda e: f"asked the owners for support access{_quoted_reason(e)}",
    "support.access_approved": lambda e: f"let {e.target_label} (support) in for {_count(e, 'hours', 'hour')}",
    "support.access_refused": "refused support access to {target}",
    "user.sessions_ended_by_staff": lambda e: f"signed {e.target_label} out everywhere{_sessions_ended(e)}",
    "user.verification_resent_by_staff": "sent a new confirmation link to {target}",
    "api_key.created": _key_created,
    "api_key.revoked": "revoked the API key {target}",
}


def actor_name(event: AuditEvent) -> str:
    """'Adam Admin <adam@x>' reads as 'Adam Admin'; the system as 'Tenantry'."""
    label = event.actor_label or "Someone"
    return label.split(" <", 1)[0] if " <" in label else label


def describe(event: AuditEvent) -> str:
    """The event as one line of plain text, whatever its values contain."""
    phrase = PHRASES.get(event.action)
    if phrase is None:
        text = f"{event.action.replace('.', ' ').replace('_', ' ')} {event.target_label}".strip()
    elif callable(phrase):
        text = phrase(event)
    else:
        text = phrase.format(target=event.target_label, org=words().org)
    # "— the email ... was delivered": a sentence without an actor.
    sentence = text[2:3].upper() + text[3:] if text.startswith("— ") else f"{actor_name(event)} {text}"
    return " ".join(sentence.split())  # newlines and tabs in a name never break the line


# Formatted when shown (action_groups()): "{Org}" is the deployment's word (lib/words.py).
ACTION_GROUPS = {
    "org": "{Org}",
    "membership": "Members",
    "invitation": "Invitations",
    "email": "Email",
    "role": "Roles",
    "group": "Groups",
    "user": "Account",
    "support": "Support",
    "api_key": "API keys",
}


def action_groups() -> dict[str, str]:
    """ACTION_GROUPS as the activity filter shows them, in the deployment's word."""
    return {key: fill(label) for key, label in ACTION_GROUPS.items()}


@dataclass(frozen=True)
class ActionGroupChoice:
    label: str
    prefix: str | None  # chooses the whole group; None: the actions of no group
    actions: list[tuple[str, str]]  # (action, its name in words)


def action_choices(actions: Iterable[str]) -> list[ActionGroupChoice]:
    """The activity filter's choices: each group (all of it, or one of its actions, named in
    words: "roles changed") and then the actions of no group."""
    rest = list(actions)
    choices = []
    for prefix, label in action_groups().items():
        mine = [action for action in rest if action.startswith(f"{prefix}.")]
        rest = [action for action in rest if action not in mine]
        choices.append(
            ActionGroupChoice(label, prefix, [(action, action.split(".", 1)[1].replace("_", " ")) for action in mine])
        )
    if rest:
        choices.append(ActionGroupChoice("Other", None, [(action, action.replace("_", " ")) for action in rest]))
    return choices
