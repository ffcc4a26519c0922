"""Alembic environment: runs migrations on the async engine the app uses."""

from __future__ import annotations

import asyncio

from advanced_alchemy.types import GUID
from alembic import context
from sqlalchemy.engine import Connection

from tenantry.config import get_settings
from tenantry.db.engine import create_engine
from tenantry.db.registry import metadata

config = context.config
settings = config.attributes.get("settings") or get_settings()


def _compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    # SQLite reports the GUID columns it created as NUMERIC(16): not a real difference.
    if isinstance(metadata_type, GUID) and context.dialect.name == "sqlite":
        return False
    return None  # Alembic's own comparison


def _for_this_dialect(dialect: str):
    """Leave out what the models create on another database only (an Index(...).ddl_if(dialect=...),
    e.g. a GIN index on PostgreSQL): Alembic's comparison doesn't read ddl_if itself."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        if reflected or condition is None or condition.dialect is None:
            return True
        wanted = condition.dialect
        return dialect == wanted if isinstance(wanted, str) else dialect in wanted

    return include_object


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,  # SQLite alters a table by copying it into a new one
        compare_type=_compare_type,
        include_object=_for_this_dialect(connection.dialect.name),
    )
    if sqlite:
        # Copying a table drops the old one; with foreign keys on, that drop would cascade and
        # delete every row that points at it. Off for the migration, checked afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                msg = f"The migration left rows pointing at nothing: {broken[:5]}"
                raise RuntimeError(msg)
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


async def _run_async() -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.database_url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
