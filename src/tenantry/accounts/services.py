"""Account verbs: sign up, sign in, sign out, profile, password, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts import sessions
from tenantry.accounts.models import TokenPurpose, User, UserSession
from tenantry.accounts.passwords import Passwords, password_problem
from tenantry.accounts.schemas import normalize_email
from tenantry.accounts.tokens import find_token, issue_token, use_token
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.ratelimit import Limit, RateLimiter
from tenantry.mail.messages import send_password_changed_email, send_password_reset_email, send_verification_email
from tenantry.members.services import follow_user_rename
from tenantry.orgs.services import create_personal_workspace_if_on

WRONG_CREDENTIALS = "That email and password don't match an account. Check both and try again."


class InvalidCredentials(Exception):
    """Same exception, same message, for an unknown email and for a wrong password."""


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: sessions.NewSession


def user_target(user: User) -> Target:
    return Target(type="user", id=str(user.id), label=user.email)


def actor_label(user: User) -> str:
    return f"{user.name} <{user.email}>"


async def find_user_by_email(db: AsyncSession, email: str) -> User | None:
    """The one lookup by address (email uniqueness will become per user pool)."""
    return await db.scalar(select(User).where(User.email == email.strip().lower()))


async def create_user(
    db: AsyncSession,
    *,
    name: str,
    email: str,
    password_hash: str | None,
    actor: Actor,
    is_staff: bool = False,
    staff_role: str | None = None,
    email_verified: bool = False,
) -> User:
    """Insert a user; the address must be free (checked again by the unique index)."""
    if await find_user_by_email(db, email) is not None:
        raise InvalidInput.on("email", "An account with this email address already exists. Sign in instead.")
    user = User(
        name=name,
        email=email,
        password_hash=password_hash,
        is_staff=is_staff,
        staff_role=staff_role,
        email_verified_at=utcnow() if email_verified else None,
    )
    try:
        async with db.begin_nested():
            db.add(user)
            await db.flush()
    except IntegrityError:  # the same address, signed up in another tab at the same moment
        raise InvalidInput.on("email", "An account with this email address already exists. Sign in instead.") from None
    return user


def _signin_limits(settings: Settings) -> tuple[Limit, Limit]:
    window = settings.signin_window_minutes * 60
    return (
        Limit("signin:ip", settings.signin_limit_per_ip, window),
        Limit("signin:email", settings.signin_limit_per_email, window),
    )


def _signup_limits(settings: Settings) -> tuple[Limit, Limit]:
    window = settings.signup_window_minutes * 60
    return (
        Limit("signup:ip", settings.signup_limit_per_ip, window),
        Limit("signup:email", settings.signup_limit_per_email, window),
    )


async def count_signup(limiter: RateLimiter, settings: Settings, *, ip: str, email: str) -> None:
    """Every way of creating an account with a password counts against the same limits."""
    per_ip, per_email = _signup_limits(settings)
    await limiter.hit(per_ip, ip)
    await limiter.hit(per_email, email)


async def sign_up(
    db: AsyncSession,
    *,
    limiter: RateLimiter,
    passwords: Passwords,
    settings: Settings,
    name: str,
    email: str,
    password: str,
    actor: Actor,
) -> SignedIn:
    await count_signup(limiter, settings, ip=actor.ip, email=email)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise InvalidInput.on("password", problem)
    user = await create_user(db, name=name, email=email, password_hash=await passwords.hash(password), actor=actor)
    as_user = actor.as_user(user.id, actor_label(user))
    record_event(db, actor=as_user, action="user.signed_up", target=user_target(user), after={"name": name})
    await create_personal_workspace_if_on(db, settings, user=user, actor=as_user)
    send_verification_email(
        db, settings, user=user, token=await issue_token(db, user=user, purpose=TokenPurpose.VERIFY_EMAIL)
    )
    new_session = sessions.create_session(db, user=user, settings=settings, ip=actor.ip, user_agent=actor.user_agent)
    await db.flush()
    return SignedIn(user=user, session=new_session)


async def sign_in(
    db: AsyncSession,
    *,
    limiter: RateLimiter,
    passwords: Passwords,
    settings: Settings,
    email: str,
    password: str,
    replaced_session_id: UUID | None,
    actor: Actor,
) -> SignedIn:
    """Check the credentials and open a new session (a new id at every sign-in).

    An unknown email costs the same argon2 verification as a known one and gets the same answer.
    """
    try:
        normalized = normalize_email(email)
    except ValueError:
        normalized = email.strip().lower()
    per_ip, per_email = _signin_limits(settings)
    await limiter.hit(per_ip, actor.ip)
    # Counted on the address as we look it up: a full-width or upper-case spelling of Olivia's
    # address spends Olivia's budget too.
    await limiter.hit(per_email, normalized)
    user = await find_user_by_email(db, normalized)
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        record_event(
            db,
            actor=actor,
            action="user.sign_in_failed",
            # Only a real account is named: a typo (or a password typed into the email field)
            # must not end up in the log.
            target=user_target(user) if user else Target(type="user", id="", label="(unknown account)"),
        )
        raise InvalidCredentials(WRONG_CREDENTIALS)
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = await passwords.hash(password)
    if replaced_session_id is not None:
        await sessions.end_session(db, session_id=replaced_session_id)
    await sessions.forget_ended_sessions(db, settings=settings, user_id=user.id)
    new_session = sessions.create_session(db, user=user, settings=settings, ip=actor.ip, user_agent=actor.user_agent)
    record_event(db, actor=actor.as_user(user.id, actor_label(user)), action="user.signed_in", target=user_target(user))
    await db.flush()
    return SignedIn(user=user, session=new_session)


async def sign_out(db: AsyncSession, *, session_id: UUID, user: User, actor: Actor) -> None:
    await sessions.end_session(db, session_id=session_id)
    record_event(db, actor=actor, action="user.signed_out", target=user_target(user))
    await db.flush()


async def _load_user(db: AsyncSession, user_id: UUID) -> User:
    user = await db.get(User, user_id)
    if user is None:  # pragma: no cover - the session cascade removes sessions with their user
        msg = "user not found"
        raise LookupError(msg)
    return user


async def update_profile(db: AsyncSession, *, user_id: UUID, name: str, actor: Actor) -> User:
    user = await _load_user(db, user_id)
    if user.name != name:
        before = {"name": user.name}
        user.name = name
        await follow_user_rename(db, user_id=user.id, name=name)
        record_event(
            db,
            actor=actor,
            action="user.profile_updated",
            target=user_target(user),
            before=before,
            after={"name": name},
        )
        await db.flush()
    return user


async def change_password(
    db: AsyncSession,
    *,
    passwords: Passwords,
    settings: Settings,
    user_id: UUID,
    current_password: str,
    new_password: str,
    actor: Actor,
) -> sessions.NewSession:
    """Set a new password; every session ends, this browser gets a fresh one."""
    user = await _load_user(db, user_id)
    if not await passwords.verify(user.password_hash, current_password):
        raise InvalidInput.on("current_password", "That isn't your current password.")
    problem = password_problem(new_password, email=user.email, name=user.name)
    if problem:
        raise InvalidInput.on("new_password", problem)
    if new_password == current_password:
        raise InvalidInput.on("new_password", "Choose a password different from your current one.")
    user.password_hash = await passwords.hash(new_password)
    ended = await sessions.end_other_sessions(db, user_id=user.id, keep_session_id=None)
    new_session = sessions.create_session(db, user=user, settings=settings, ip=actor.ip, user_agent=actor.user_agent)
    record_event(
        db,
        actor=actor,
        action="user.password_changed",
        target=user_target(user),
        after={"sessions_ended": max(0, ended - 1)},
    )
    send_password_changed_email(db, settings, user=user, ip=actor.ip)
    await db.flush()
    return new_session


# --- account mail: verification, reset, first password ---------------------------------------


def _mail_limits(settings: Settings) -> tuple[Limit, Limit, Limit]:
    window = settings.mail_window_minutes * 60
    return (
        Limit("reset:ip", settings.password_reset_limit_per_ip, window),
        Limit("reset:email", settings.password_reset_limit_per_email, window),
        Limit("verify:user", settings.verification_limit_per_user, window),
    )


async def resend_verification(
    db: AsyncSession, *, limiter: RateLimiter, settings: Settings, user_id: UUID, actor: Actor
) -> bool:
    """A new confirmation link (the old one stops working). False when already confirmed."""
    user = await _load_user(db, user_id)
    if user.email_verified_at is not None:
        return False
    await limiter.hit(_mail_limits(settings)[2], str(user.id))
    send_verification_email(
        db, settings, user=user, token=await issue_token(db, user=user, purpose=TokenPurpose.VERIFY_EMAIL)
    )
    record_event(db, actor=actor, action="user.verification_sent", target=user_target(user))
    await db.flush()
    return True


async def verify_email(db: AsyncSession, *, token: str, actor: Actor) -> User:
    """The link from the confirmation email was opened: the address is the user's."""
    user = await use_token(db, token, purpose=TokenPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        record_event(
            db, actor=actor.as_user(user.id, actor_label(user)), action="user.email_verified", target=user_target(user)
        )
    await db.flush()
    return user


async def request_password_reset(
    db: AsyncSession, *, limiter: RateLimiter, settings: Settings, email: str, actor: Actor
) -> None:
    """Send a reset link if there is such an account. The caller says the same thing either way."""
    try:
        normalized = normalize_email(email)
    except ValueError:
        normalized = email.strip().lower()
    per_ip, per_email, _ = _mail_limits(settings)
    await limiter.hit(per_ip, actor.ip)
    await limiter.hit(per_email, normalized)
    user = await find_user_by_email(db, normalized)
    if user is None:
        return
    token = await issue_token(db, user=user, purpose=TokenPurpose.RESET_PASSWORD)
    send_password_reset_email(db, settings, user=user, token=token)
    record_event(db, actor=actor, action="user.password_reset_requested", target=user_target(user))
    await db.flush()


async def set_password_with_token(
    db: AsyncSession,
    *,
    passwords: Passwords,
    settings: Settings,
    token: str,
    purpose: TokenPurpose,
    new_password: str,
    actor: Actor,
) -> SignedIn:
    """Reset a forgotten password, or set the first one from a welcome email. Every session ends;
    this browser is signed in afresh. The link proves the mailbox, so the address counts as
    confirmed."""
    found = await find_token(db, token, purpose=purpose)  # a refused password doesn't spend the link
    problem = password_problem(new_password, email=found.user.email, name=found.user.name)
    if problem:
        raise InvalidInput.on("password", problem)
    user = await use_token(db, token, purpose=purpose)
    user.password_hash = await passwords.hash(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await sessions.end_other_sessions(db, user_id=user.id, keep_session_id=None)
    new_session = sessions.create_session(db, user=user, settings=settings, ip=actor.ip, user_agent=actor.user_agent)
    as_user = actor.as_user(user.id, actor_label(user))
    if purpose == TokenPurpose.RESET_PASSWORD:
        record_event(db, actor=as_user, action="user.password_reset", target=user_target(user))
        send_password_changed_email(db, settings, user=user, ip=actor.ip)
    else:
        record_event(db, actor=as_user, action="user.password_set", target=user_target(user))
    await db.flush()
    return SignedIn(user=user, session=new_session)


async def revoke_session(db: AsyncSession, *, user_id: UUID, session_id: UUID, actor: Actor) -> bool:
    """Sign out one of the user's own browsers. False when there is no such session of theirs."""
    row = await db.scalar(select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id))
    if row is None:
        return False
    user = await _load_user(db, user_id)
    await sessions.end_session(db, session_id=row.id)
    record_event(
        db,
        actor=actor,
        action="user.session_revoked",
        target=user_target(user),
        before={"session": describe_session_for_log(row)},
    )
    await db.flush()
    return True


async def revoke_other_sessions(
    db: AsyncSession, *, settings: Settings, user_id: UUID, current_session_id: UUID, actor: Actor
) -> int:
    """Sign out every other browser; returns how many were still signed in."""
    user = await _load_user(db, user_id)
    live = [s.id for s in await sessions.list_sessions(db, settings=settings, user_id=user_id)]
    ended = len([session_id for session_id in live if session_id != current_session_id])
    await sessions.end_other_sessions(db, user_id=user_id, keep_session_id=current_session_id)
    if ended:
        record_event(
            db,
            actor=actor,
            action="user.other_sessions_revoked",
            target=user_target(user),
            after={"sessions_ended": ended},
        )
    await db.flush()
    return ended


def describe_session_for_log(row: UserSession) -> dict[str, str]:
    return {"ip": row.ip, "user_agent": row.user_agent[:200], "created_at": row.created_at.isoformat()}


async def require_staff(db: AsyncSession, actor: Actor) -> User:
    """Staff-only verbs ask this themselves, whichever route, job or API calls them."""
    user = await db.get(User, actor.user_id) if actor.user_id else None
    if user is None or not user.is_staff:
        raise NotPermitted.on("__all__", "Only support staff can do this.")
    return user
