"""Keyset pagination: a page costs the same whatever its position in a large table.

A cursor is an opaque token holding the sort key of the row next to the page boundary and a
direction. A tampered or stale cursor gives the first page, never an error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 25


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def is_paginated(self) -> bool:
        return self.next_cursor is not None or self.prev_cursor is not None


def encode_cursor(direction: str, values: Sequence[Any]) -> str:
    payload = json.dumps([direction, [str(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _is_plain_text(value: object) -> bool:
    """A string a database will take: no control characters, no lone surrogates, not huge."""
    if not isinstance(value, str) or len(value) > 300:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_cursor(token: str | None, types: Sequence[type]) -> tuple[str, tuple[Any, ...]] | None:
    """The direction and sort key in a cursor, or None for anything we did not write ourselves."""
    if not token or len(token) > 1000:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        direction, values = json.loads(raw)
        if direction not in ("after", "before") or not isinstance(values, list) or len(values) != len(types):
            return None
        if not all(_is_plain_text(value) for value in values):
            return None
        converted = tuple(
            UUID(value) if kind is UUID else kind(value) for kind, value in zip(types, values, strict=True)
        )
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeError):
        return None
    return direction, converted


def _beyond(columns: Sequence[ColumnElement[Any]], values: Sequence[Any], *, after: bool) -> ColumnElement[bool]:
    """(a, b) > (x, y) spelled out as a > x OR (a = x AND b > y).

    Written out rather than as a row-value comparison so that each value is bound with its
    column's type (SQLite stores UUIDs as text and compares a bare tuple wrongly).
    """
    first, *rest = columns
    value, *rest_values = values
    strictly = first > value if after else first < value
    if not rest:
        return strictly
    return or_(strictly, and_(first == value, _beyond(rest, rest_values, after=after)))


async def keyset_page(
    db: AsyncSession,
    statement: Select[Any],
    *,
    order_by: Sequence[ColumnElement[Any]],
    key: Callable[[Any], Sequence[Any]],
    key_types: Sequence[type],
    cursor: str | None,
    per_page: int = DEFAULT_PAGE_SIZE,
    descending: bool = False,
    fixed: Sequence[ColumnElement[Any]] = (),
) -> Page[Any]:
    """Run `statement` for one page in `order_by` order, ascending unless `descending` (newest
    first, say); the last column of `order_by` must be unique.

    `fixed` names columns the statement pins to one value (org_id = ...). They lead the ORDER BY
    only to point the planner at the index that starts with them: PostgreSQL, told an org owns a
    fifth of a table, may otherwise walk the primary key past every other org's rows."""
    base = statement
    decoded = decode_cursor(cursor, key_types)
    direction = decoded[0] if decoded else "after"
    ascending_now = (direction == "after") != descending  # walking the index upwards on this query
    if decoded:
        statement = statement.where(_beyond(order_by, decoded[1], after=ascending_now))
    ordering = [*fixed, *order_by] if ascending_now else [column.desc() for column in [*fixed, *order_by]]
    rows = list((await db.execute(statement.order_by(*ordering).limit(per_page + 1))).all())
    if decoded and not rows:
        # A stale cursor (rows deleted since) or one pointing past the end: start over.
        return await keyset_page(
            db,
            base,
            order_by=order_by,
            key=key,
            key_types=key_types,
            cursor=None,
            per_page=per_page,
            descending=descending,
            fixed=fixed,
        )
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    if direction == "before":
        rows.reverse()
    if not rows:
        return Page(items=[], next_cursor=None, prev_cursor=None)
    if direction == "after":
        next_cursor = encode_cursor("after", key(rows[-1])) if has_more else None
        prev_cursor = encode_cursor("before", key(rows[0])) if decoded else None
    else:
        next_cursor = encode_cursor("after", key(rows[-1]))
        prev_cursor = encode_cursor("before", key(rows[0])) if has_more else None
    return Page(items=rows, next_cursor=next_cursor, prev_cursor=prev_cursor)
