"""Account forms."""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints

from tenantry.lib.forms import FormModel, RawString

MAX_EMAIL_LENGTH = 320


def normalize_email(value: str) -> str:
    """A syntactically valid address, lower-cased, its domain in IDNA form; ValueError otherwise."""
    if not value:
        msg = "This field is required."
        raise ValueError(msg)
    if len(value) > MAX_EMAIL_LENGTH:
        msg = "This email address is too long."
        raise ValueError(msg)
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        msg = f"Enter a valid email address. {exc}"
        raise ValueError(msg) from None
    return checked.normalized.lower()


Email = Annotated[str, AfterValidator(normalize_email)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# Sign-in takes any text: checking its shape would tell an attacker which addresses can't exist.
LooseEmail = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EMAIL_LENGTH)]
PasswordInput = Annotated[RawString, StringConstraints(min_length=1, max_length=1000)]


class SignUpForm(FormModel):
    name: PersonName
    email: Email
    password: PasswordInput


class SignInForm(FormModel):
    email: LooseEmail
    password: PasswordInput


class ProfileForm(FormModel):
    name: PersonName


class ChangePasswordForm(FormModel):
    current_password: PasswordInput
    new_password: PasswordInput


class ForgotPasswordForm(FormModel):
    email: LooseEmail


class NewPasswordForm(FormModel):
    password: PasswordInput
