"""Settings, read once from the TENANTRY_* environment variables (DESIGN.md, "Contracts")."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_KEY_LENGTH = 32

# A fixed key for development only: sessions live in the database, so this key only signs CSRF
# tokens and the flash cookie. Outside development mode a real key is required.
_DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105

# OWASP's argon2id minimum (m=19 MiB, t=2, p=1). Settings below it are refused.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2


class ConfigError(Exception):
    """A setting makes start-up unsafe or impossible; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", extra="ignore")

    # --- process -------------------------------------------------------------------------------
    env: Literal["development", "production", "test"] = "production"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = ""
    secret_key: str = ""
    log_level: str = "INFO"
    trusted_proxies: str = "127.0.0.1"

    # --- database ------------------------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./var/tenantry.db"
    database_echo: bool = False

    # --- mail (used by invitations; with no host, mail goes to the log) ----------------------------
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    mail_from: str = "Tenantry <no-reply@localhost>"
    # The outbox worker runs inside `tenantry run` unless switched off (then run `tenantry worker`).
    run_worker: bool = True
    mail_poll_seconds: float = Field(default=5.0, gt=0)
    # A message that can't be delivered is retried with growing pauses for this long.
    mail_retry_hours: int = Field(default=24, ge=1)

    # --- access ------------------------------------------------------------------------------------
    # TOML declaring the product's permissions and role templates (see examples/permissions.toml).
    permissions_file: str = ""

    # --- plans ---------------------------------------------------------------------------------------
    # TOML declaring the plans sold (see examples/plans.toml); empty: one plan with everything, no limit.
    plans_file: str = ""

    # --- accounts and sessions -------------------------------------------------------------------
    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # argon2-cffi's RFC 9106 "low memory" profile; both are above OWASP's minimum.
    argon2_memory_kib: int = 64 * 1024
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4

    # --- rate limits (attempts per window, counted in the database so every instance agrees) -------
    signin_limit_per_email: int = 10
    signin_limit_per_ip: int = 50
    signin_window_minutes: int = 15
    signup_limit_per_ip: int = 10
    signup_limit_per_email: int = 5
    signup_window_minutes: int = 60
    password_reset_limit_per_email: int = 3
    password_reset_limit_per_ip: int = 20
    verification_limit_per_user: int = 3
    invitation_limit_per_org_hour: int = 1000
    # Audit events older than this many days are deleted by `tenantry purge-audit`; empty: kept forever.
    audit_retention_days: int | None = Field(default=None, ge=1)
    mail_window_minutes: int = 60
    # Requests each API key may make per minute (every instance counts together, in the database).
    api_requests_per_minute: int = Field(default=1200, ge=1)

    # --- workspaces and membership rules (orgs/rules.py) -----------------------------------------
    # Every new (non-staff) account gets a personal workspace it owns, "Olivia's workspace".
    personal_workspaces: bool = False
    # How many orgs a user may belong to; empty: no limit. A personal workspace doesn't count,
    # deactivated memberships do (they can be reactivated).
    max_orgs_per_user: int | None = Field(default=None, ge=1)
    # At least one: a signed-in user without an active org can only create or join one.
    require_org: bool = False

    @field_validator("max_orgs_per_user", mode="before")
    @classmethod
    def _empty_means_no_limit(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- org lifecycle -------------------------------------------------------------------------------
    # A deleted org is kept this many days (support can restore it), then `tenantry purge` removes it.
    org_restore_days: int = Field(default=30, ge=1)

    # --- per-org settings: what an org gets until it chooses otherwise (orgs/settings.py) ----------
    invitation_expiry_days: int = Field(default=7, ge=1, le=30)
    # Key of a role template (built-in or from TENANTRY_PERMISSIONS_FILE) new members get.
    default_role: str = "member"
    # Comma-separated domains invitations may go to; empty: any domain.
    invitation_email_domains: str = ""
    # Members must sign in again this many hours after signing in to reach an org; empty: no extra limit.
    org_session_hours: int | None = Field(default=None, ge=1)
    members_see_each_other: bool = True
    # Whether support staff may view an org as its members do: allowed, approval (an owner approves
    # each request) or refused (a support-admin's break-glass entry only). Each org may choose.
    support_access: Literal["allowed", "approval", "refused"] = "allowed"

    @field_validator("org_session_hours", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- words -------------------------------------------------------------------------------------
    # What the portal calls an organization, singular ("workspace", "team", "company"); the plural
    # is the word + "s" unless set. Lowercase; pages capitalize it where a sentence starts.
    org_word: str = "organization"
    org_word_plural: str = ""

    @field_validator("org_word", "org_word_plural", mode="before")
    @classmethod
    def _lowercase_word(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def public_base_url(self) -> str:
        """Where links in emails point; never derived from a request's Host header."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def serves_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        return _DEVELOPMENT_SECRET_KEY

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    def check(self) -> None:
        """Refuse to start with settings that would be unsafe; each message names what to set."""
        if not self.is_development and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            problem = "is not set" if not self.secret_key else "is too short"
            raise ConfigError(
                f"TENANTRY_SECRET_KEY {problem}. Set it to a random string of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters, for example the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "(or set TENANTRY_ENV=development on a developer machine)."
            )
        if self.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB or self.argon2_time_cost < ARGON2_MIN_TIME_COST:
            raise ConfigError(
                "TENANTRY_ARGON2_MEMORY_KIB must be at least "
                f"{ARGON2_MIN_MEMORY_KIB} and TENANTRY_ARGON2_TIME_COST at least {ARGON2_MIN_TIME_COST} "
                "(OWASP's minimum for argon2id)."
            )
        if self.org_session_hours is not None and self.org_session_hours > self.session_absolute_hours:
            raise ConfigError(
                f"TENANTRY_ORG_SESSION_HOURS ({self.org_session_hours}) is longer than "
                f"TENANTRY_SESSION_ABSOLUTE_HOURS ({self.session_absolute_hours}), so it would never apply. "
                "Lower it, or leave it empty."
            )
        from tenantry.lib.domains import DomainProblem, parse_domains
        from tenantry.lib.words import check_word

        for setting, word in (("TENANTRY_ORG_WORD", self.org_word), ("TENANTRY_ORG_WORD_PLURAL", self.org_word_plural)):
            if setting == "TENANTRY_ORG_WORD_PLURAL" and not word:
                continue  # the word + "s"
            if problem := check_word(word, setting):
                raise ConfigError(problem)

        try:
            parse_domains(self.invitation_email_domains)
        except DomainProblem as exc:
            raise ConfigError(f"TENANTRY_INVITATION_EMAIL_DOMAINS: {exc}") from None

    def check_default_role(self, template_keys: set[str]) -> None:
        """TENANTRY_DEFAULT_ROLE must name a role template of the catalog, and not the owner's."""
        if self.default_role == "owner":
            raise ConfigError("TENANTRY_DEFAULT_ROLE can't be owner: new members can't become owners by default.")
        if self.default_role not in template_keys:
            raise ConfigError(
                f"TENANTRY_DEFAULT_ROLE is {self.default_role!r}, which is not a role template. Choose one of: "
                f"{', '.join(sorted(template_keys - {'owner'}))} (or declare it in TENANTRY_PERMISSIONS_FILE)."
            )


@functools.cache
def get_settings() -> Settings:
    return Settings()
