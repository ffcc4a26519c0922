"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from anyio import to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from tenantry.config import Settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128  # NIST SP 800-63B asks that at least 64 be allowed

# 19,640 common passwords, lower-cased (Royce Williams' list, as shipped by Django).
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@functools.cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why this password is refused, as a sentence for the form, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "This password is too common; attackers try it first. Choose another."
    if email and lowered in {email.lower(), email.split("@", 1)[0].lower()}:
        return "Don't use your email address as your password."
    if name and lowered == name.strip().lower():
        return "Don't use your name as your password."
    return None


class Passwords:
    """argon2id with the deployment's parameters; hashes made with older ones are upgraded on sign-in."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the email is unknown, so both answers take the same time.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    # argon2 is ~100 ms of CPU by design; in a worker thread (argon2-cffi releases the GIL) it
    # doesn't stall every other request on this event loop.
    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self.hash_blocking, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await to_thread.run_sync(self._verify_blocking, password_hash, password)

    def hash_blocking(self, password: str) -> str:
        """For the command line and tests, where nothing else waits."""
        return self._hasher.hash(password)

    def _verify_blocking(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
