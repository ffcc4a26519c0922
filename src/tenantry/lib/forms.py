"""Form input: pydantic models whose errors read as sentences, keyed by field name.

Controllers parse a form into a model (shape: required, lengths, formats); services raise
`InvalidInput` for rules that need the database (a slug already taken). Both end up as a
message next to the field, and nothing changes.
"""

from __future__ import annotations

import typing
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from litestar import Request
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

FormErrors = dict[str, str]
M = TypeVar("M", bound="FormModel")
T = TypeVar("T")

# A password is taken exactly as typed: no trimming.
RawString = Annotated[str, StringConstraints(strip_whitespace=False)]


class InvalidInput(Exception):
    """A service refuses some input; each message belongs next to its field."""

    status = 422

    def __init__(self, errors: FormErrors) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls({field: message})


def _has_control_characters(text: str) -> bool:
    return any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in text)


class FormModel(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)

    @field_validator("*", mode="after", check_fields=False)
    @classmethod
    def _refuse_control_characters(cls, value: Any) -> Any:
        # NUL and other control characters have no business in names and addresses, and
        # PostgreSQL refuses NUL outright.
        if isinstance(value, str) and _has_control_characters(value):
            msg = "Remove the invisible control characters from this field."
            raise ValueError(msg)
        if isinstance(value, str) and value and all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in value):
            # e.g. a lone zero-width space: looks empty, isn't
            msg = "Type visible characters, or leave this field empty."
            raise ValueError(msg)
        return value


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "This field is required."
    if kind == "string_too_short":
        return f"Use at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx['max_length']} characters."
    if kind == "value_error":
        return str(ctx.get("error", "")) or "Enter a valid value."
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "Enter a whole number."
    if kind in {"string_type", "list_type"}:
        return "Enter a valid value."
    return "Enter a valid value."


def _is_list_field(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (list, set, frozenset, tuple)


def parse_form(model: type[M], form: Mapping[str, Any]) -> tuple[M | None, FormErrors]:
    """Validate submitted form data. Returns the model, or None and one message per field."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if _is_list_field(info.annotation):
            getall = getattr(form, "getall", None)
            values = getall(name, []) if getall else form.get(name, [])
            data[name] = [v for v in values if isinstance(v, str)]
        elif name in form:
            value = form.get(name)
            data[name] = value if isinstance(value, str) else ""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: FormErrors = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "__all__"
            errors.setdefault(field, _message(error))
        return None, errors


def clean_query_text(value: str, max_length: int = 100) -> str:
    """Search text from a URL: trimmed, without control characters (PostgreSQL refuses NUL)."""
    return "".join(ch for ch in value if not _has_control_characters(ch)).strip()[:max_length]


def form_values(form: Mapping[str, Any], *names: str) -> dict[str, str]:
    """What the user typed, to put back into a form shown again with errors."""
    return {name: value for name in names if isinstance(value := form.get(name, ""), str)}


def ticked_ids(form: Mapping[str, Any], name: str) -> list[UUID]:
    """The ids of the ticked boxes of a form shown again with errors, so they stay ticked."""
    getall = getattr(form, "getall", None)
    ids = []
    for value in getall(name, []) if getall else []:
        try:
            ids.append(UUID(value))
        except (TypeError, ValueError, AttributeError):
            continue
    return ids


@dataclass
class Submission(Generic[T]):
    """A posted form after parsing and, if its shape was right, the service verb."""

    form: Mapping[str, Any]
    ok: bool
    result: T | None = None
    errors: FormErrors = field(default_factory=dict)
    status: int = 200  # of the refusal: 422 bad input, 403 not permitted

    def values(self, *names: str) -> dict[str, str]:
        return form_values(self.form, *names)


async def submit_form(request: Request, model: type[M], action: Callable[[M], Awaitable[T]]) -> Submission[T]:
    """Parse the posted form and, when its shape is right, run `action` (a service verb) with it.

    The verb's InvalidInput ends up exactly like a badly shaped field: a message next to it.
    """
    form = await request.form()
    data, errors = parse_form(model, form)
    status = 422
    if data is not None:
        try:
            return Submission(form=form, ok=True, result=await action(data))
        except InvalidInput as exc:
            errors, status = exc.errors, exc.status
    return Submission(form=form, ok=False, errors=errors, status=status)
