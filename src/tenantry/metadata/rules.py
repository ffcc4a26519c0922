"""What custom metadata may hold, checked in one place for the portal's editors and the API.

Metadata is a flat JSON object: short lower-case keys, each holding a string, a number or
true/false, at most 16 KB once serialized. The portal edits it as rows (key, type, value as
typed); the API will send JSON. Both become `MetadataRow`s and go through `metadata_from_rows`,
so a value refused in one place is refused in the other with the same sentence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tenantry.lib.forms import FormErrors, InvalidInput

MAX_BYTES = 16 * 1024
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Beyond this, JavaScript (and many JSON parsers) can't hold a whole number exactly.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_SIGNIFICANT_DIGITS = 15
# The row fields of the editor form: key-3, type-3, value-3, remove-3.
ROW_FIELD = re.compile(r"^(key|type|value|remove)-(\d{1,5})$")

STRING, NUMBER, BOOLEAN = "string", "number", "boolean"
TYPES = {STRING: "Text", NUMBER: "Number", BOOLEAN: "True/false"}

Value = str | int | float | bool
Metadata = dict[str, Value]


@dataclass(frozen=True)
class MetadataRow:
    """One row as submitted: everything still text, nothing checked yet."""

    index: int
    key: str = ""
    type: str = STRING
    value: str = ""
    remove: bool = False

    @property
    def is_blank(self) -> bool:
        return not self.key.strip() and not self.value.strip()


def type_of(value: Value) -> str:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    return STRING


def value_as_text(value: Value) -> str:
    """How a stored value is shown in the editor (and typed back without change)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def key_problem(key: str) -> str | None:
    if not key:
        return "Enter a key, or clear this row."
    if len(key) > 64:
        return "Use at most 64 characters for a key."
    if not KEY_PATTERN.match(key):
        return "Start with a letter; then use letters, digits, “_”, “.” or “-”."
    return None


def normalize_key(key: str) -> str:
    return key.strip().lower()


def parse_number(text: str) -> int | float:
    """'42' → 42, '3.50' → 3.5, '50.0' → 50; ValueError with a sentence otherwise."""
    text = text.strip()
    if not NUMBER_PATTERN.match(text):
        msg = "Enter a number such as 42, -7 or 3.5."
        raise ValueError(msg)
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        msg = "Enter a number such as 42, -7 or 3.5."
        raise ValueError(msg) from None
    if number == number.to_integral_value():
        whole = int(number)
        if abs(whole) > MAX_SAFE_INTEGER:
            msg = f"Use a number between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."
            raise ValueError(msg)
        return whole
    if len(number.normalize().as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        msg = f"Use at most {MAX_SIGNIFICANT_DIGITS} significant digits."
        raise ValueError(msg)
    as_float = float(number)
    if not math.isfinite(as_float):  # pragma: no cover - 15 digits can't overflow a float
        msg = "Enter a smaller number."
        raise ValueError(msg)
    return as_float


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    msg = "Enter true or false."
    raise ValueError(msg)


def _has_control_characters(text: str) -> bool:
    return any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in text)


def parse_string(text: str) -> str:
    if _has_control_characters(text):
        msg = "Remove the invisible control characters from this value."
        raise ValueError(msg)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = "Remove the characters that can't be stored (lone surrogates)."
        raise ValueError(msg) from None
    return text.strip()


def parse_value(kind: str, text: str) -> Value:
    if kind == NUMBER:
        return parse_number(text)
    if kind == BOOLEAN:
        return parse_boolean(text)
    return parse_string(text)


def serialized(meta: Mapping[str, Value]) -> str:
    """The canonical JSON of a metadata object: what the 16 KB limit measures, and what tells two
    objects apart (in Python 1 == True, in JSON they differ)."""
    return json.dumps(dict(sorted(meta.items())), separators=(",", ":"), ensure_ascii=False)


def size_of(meta: Mapping[str, Value]) -> int:
    return len(serialized(meta).encode("utf-8"))


def _kilobytes(size: int) -> str:
    return f"{size / 1024:.1f}".rstrip("0").rstrip(".") + " KB"


def metadata_from_rows(rows: Sequence[MetadataRow]) -> Metadata:
    """The metadata the rows describe, keys sorted; InvalidInput with one message per bad field
    (`key-3`, `value-3`, `type-3`, or `__all__` for the size). Blank and removed rows are skipped."""
    errors: FormErrors = {}
    meta: Metadata = {}
    first_row_of: dict[str, int] = {}
    for position, row in enumerate(rows, start=1):
        if row.remove or row.is_blank:
            continue
        key = normalize_key(row.key)
        problem = key_problem(key)
        if problem:
            errors[f"key-{row.index}"] = problem
        elif key in first_row_of:
            errors[f"key-{row.index}"] = f"“{key}” is already used in row {first_row_of[key]}: each key once."
        else:
            first_row_of[key] = position
        if row.type not in TYPES:
            errors[f"type-{row.index}"] = "Choose text, number or true/false."
            continue
        try:
            value = parse_value(row.type, row.value)
        except ValueError as exc:
            errors[f"value-{row.index}"] = str(exc)
            continue
        if not problem and f"key-{row.index}" not in errors:
            meta[key] = value
    if errors:
        raise InvalidInput(errors)
    meta = dict(sorted(meta.items()))
    size = size_of(meta)
    if size > MAX_BYTES:
        raise InvalidInput.on(
            "__all__",
            f"Metadata is limited to 16 KB and this is {_kilobytes(size)} ({size:,} bytes). "
            "Remove some rows or shorten their values.",
        )
    return meta


def rows_from_form(form: Mapping[str, Any]) -> list[MetadataRow]:
    """The editor's rows from a posted form, in index order, however many there are."""
    fields: dict[int, dict[str, str]] = {}
    for name in form:
        match = ROW_FIELD.match(name) if isinstance(name, str) else None
        if not match:
            continue
        value = form.get(name)
        fields.setdefault(int(match.group(2)), {})[match.group(1)] = value if isinstance(value, str) else ""
    return [
        MetadataRow(
            index=index,
            key=values.get("key", ""),
            type=values.get("type", STRING),
            value=values.get("value", ""),
            remove=bool(values.get("remove")),
        )
        for index, values in sorted(fields.items())
    ]


def rows_from_mapping(data: Mapping[Any, Any]) -> list[MetadataRow]:
    """Rows from a JSON object (the API's input), so it meets the same checks as the editor."""
    rows = []
    for index, (key, value) in enumerate(data.items()):
        if isinstance(value, bool):
            kind, text = BOOLEAN, value_as_text(value)
        elif isinstance(value, int | float):
            kind, text = NUMBER, (repr(value) if isinstance(value, float) else str(value))
        elif isinstance(value, str):
            kind, text = STRING, value
        else:
            kind, text = "unsupported", ""
        rows.append(MetadataRow(index=index, key=key if isinstance(key, str) else "", type=kind, value=text))
    return rows


def rows_for_editor(meta: Mapping[str, Value], *, blank: int = 1) -> list[MetadataRow]:
    """The stored metadata as editor rows, then `blank` empty ones to add to."""
    rows = [
        MetadataRow(index=index, key=key, type=type_of(value), value=value_as_text(value))
        for index, (key, value) in enumerate(sorted(meta.items()))
    ]
    start = len(rows)
    return rows + [MetadataRow(index=start + offset) for offset in range(blank)]


def parse_search(text: str) -> tuple[str, Value] | None:
    """`industry=food` → ("industry", "food"); `employees=50` → the number 50; `trial=true` →
    True; `code="50"` → the string "50". None when it isn't key=value with a valid key."""
    if "=" not in text:
        return None
    key, raw = text.split("=", 1)
    key = normalize_key(key)
    if key_problem(key):
        return None
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return key, raw[1:-1]
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    try:
        return key, parse_number(raw)
    except ValueError:
        return key, raw
