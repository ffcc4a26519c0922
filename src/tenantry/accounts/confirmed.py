"""What needs a confirmed email address: anyone can sign up with an address they don't own, so
nothing that creates an org, brings people in or sends mail to others (directly or through an
API key) happens before the address is confirmed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.lib.errors import NotPermitted


def require_confirmed_address(user: User) -> None:
    if user.email_verified_at is None:
        raise NotPermitted.on("__all__", f"Confirm your email address first: we sent a link to {user.email}.")


async def confirmed_person(db: AsyncSession, actor: Actor) -> User | None:
    """Who acts, if a person, refused while their address is unconfirmed. None: not a person
    (an API key, the system), whose maker was checked when it was made."""
    user = await db.get(User, actor.user_id) if actor.user_id else None
    if user is not None:
        require_confirmed_address(user)
    return user
