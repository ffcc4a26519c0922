"""Row locks that work on both databases."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.lib.errors import NotFound


async def lock_row(db: AsyncSession, model: type, row_id: UUID, *, column: str = "updated_at") -> None:
    """Hold a row until commit, so changes that depend on it happen one at a time.

    A no-op UPDATE rather than SELECT ... FOR UPDATE: PostgreSQL locks the row until commit, and on
    SQLite this first write takes the database's write lock, which serializes writers the same way.
    `column` is the one set to itself (any column of the table). Raises NotFound when the row is gone."""
    result = await db.execute(
        update(model)
        .where(model.id == row_id)
        .values({column: getattr(model, column)})
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise NotFound
