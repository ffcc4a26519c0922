"""One function per email: render its template triple, put it in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import User
from tenantry.config import Settings
from tenantry.invitations.models import Invitation
from tenantry.lib.clock import utcnow
from tenantry.mail.outbox import enqueue
from tenantry.mail.rendering import brand_for, render_email
from tenantry.orgs.models import Organization

VERIFY_HOURS = 48


def _common(settings: Settings, user: User) -> dict:
    return {
        "brand": brand_for(None, settings),
        "base_url": settings.public_base_url,
        "user_name": user.name,
        "email": user.email,
    }


def send_verification_email(db: AsyncSession, settings: Settings, *, user: User, token: str) -> None:
    email = render_email(
        "verify_email",
        **_common(settings, user),
        url=f"{settings.public_base_url}/verify-email/{token}",
        hours=VERIFY_HOURS,
    )
    enqueue(db, to=user.email, email=email, kind="verify_email")


def send_password_reset_email(db: AsyncSession, settings: Settings, *, user: User, token: str) -> None:
    email = render_email(
        "password_reset", **_common(settings, user), url=f"{settings.public_base_url}/reset-password/{token}"
    )
    enqueue(db, to=user.email, email=email, kind="password_reset")


def send_password_changed_email(db: AsyncSession, settings: Settings, *, user: User, ip: str) -> None:
    email = render_email(
        "password_changed",
        **_common(settings, user),
        when=utcnow().strftime("%-d %b %Y, %H:%M"),
        ip=ip,
        reset_url=f"{settings.public_base_url}/forgot-password",
    )
    enqueue(db, to=user.email, email=email, kind="password_changed")


def send_invitation_email(
    db: AsyncSession,
    settings: Settings,
    *,
    org: Organization,
    invitation: Invitation,
    token: str,
    role_names: list[str],
    group_names: list[str],
) -> None:
    email = render_email(
        "invitation",
        brand=brand_for(org, settings),
        base_url=settings.public_base_url,
        org_name=org.name,
        inviter=invitation.inviter_name,
        email=invitation.email,
        roles=role_names,
        groups=group_names,
        message=invitation.message,
        url=f"{settings.public_base_url}/invite/{token}",
        expires=invitation.expires_at.strftime("%-d %B %Y"),
    )
    enqueue(db, to=invitation.email, email=email, kind="invitation", org_id=org.id, invitation_id=invitation.id)


def send_welcome_email(
    db: AsyncSession,
    settings: Settings,
    *,
    org: Organization,
    user: User,
    creator: str,
    token: str,
    days: int,
    role_names: list[str],
    group_names: list[str],
) -> None:
    """To an account an admin created: the link that sets its first password."""
    email = render_email(
        "welcome",
        **{**_common(settings, user), "brand": brand_for(org, settings)},
        org_name=org.name,
        creator=creator,
        roles=role_names,
        groups=group_names,
        url=f"{settings.public_base_url}/set-password/{token}",
        days=days,
    )
    enqueue(db, to=user.email, email=email, kind="welcome", org_id=org.id)
