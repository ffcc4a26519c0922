"""One engine factory for the app, the CLI, the tests and the benchmarks."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tenantry.config import Settings
from tenantry.db.transactions import transaction_handler


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below); the driver's own transaction handling can't nest savepoints.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers proceed while one request writes;
    # busy_timeout makes a second writer wait instead of failing at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_WRITE_STATEMENTS = ("insert", "update", "delete", "replace", "savepoint", "create", "alter", "drop")


def _in_transaction(connection: Any) -> bool:
    # SQLite's own answer (sqlite3_get_autocommit), through SQLAlchemy's aiosqlite adapter.
    return connection.connection.dbapi_connection._connection.in_transaction


def _begin_before_first_write(connection: Any, cursor: Any, statement: str, *_args: Any) -> None:
    """SQLite: reads run outside a transaction; just before the first write, BEGIN IMMEDIATE.

    Taking the write lock up front makes a second writer wait its turn (busy_timeout) instead of
    failing on a stale read snapshot, readers are never blocked, and a savepoint nests in a real
    transaction (otherwise releasing the first savepoint would commit everything before it).
    """
    if statement.lstrip()[:10].lower().startswith(_WRITE_STATEMENTS) and not _in_transaction(connection):
        cursor.execute("BEGIN IMMEDIATE")


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(settings.database_url, echo=settings.database_echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "before_cursor_execute", _begin_before_first_write)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_alchemy_config(engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    """The request-scoped session: committed when the response is 2xx/3xx, rolled back otherwise
    (db/transactions.py). Every change a request makes, and its audit event, land in one transaction.
    """
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        create_all=False,
    )
    config.before_send_handler = transaction_handler(config.session_scope_key)
    return config
