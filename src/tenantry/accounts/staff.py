"""Support staff accounts, created from the command line."""

from __future__ import annotations

from tenantry.accounts.passwords import Passwords, password_problem
from tenantry.accounts.schemas import normalize_email
from tenantry.accounts.services import create_user, user_target
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.lib.forms import InvalidInput

STAFF_ROLES = ("support", "support-admin")


async def create_staff_account(settings: Settings, *, email: str, name: str, role: str, password: str) -> str:
    """Create a staff user. Raises ValueError with a sentence when the input can't be used."""
    if role not in STAFF_ROLES:
        msg = f"The role must be one of: {', '.join(STAFF_ROLES)}."
        raise ValueError(msg)
    email = normalize_email(email.strip())
    name = name.strip()
    if not name or len(name) > 100:
        msg = "The name must be 1 to 100 characters."
        raise ValueError(msg)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise ValueError(f"Password refused: {problem}")
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            actor = Actor.system("tenantry create-staff")
            try:
                user = await create_user(
                    db,
                    name=name,
                    email=email,
                    password_hash=await Passwords(settings).hash(password),
                    actor=actor,
                    is_staff=True,
                    staff_role=role,
                    email_verified=True,  # an operator created it
                )
            except InvalidInput:
                msg = f"An account with {email} already exists."
                raise ValueError(msg) from None
            record_event(
                db,
                actor=actor,
                action="user.staff_created",
                target=user_target(user),
                after={"staff_role": role},
            )
            await db.commit()
    finally:
        await engine.dispose()
    return f"Staff account {email} created with role {role}. They sign in at {settings.public_base_url}/login."
