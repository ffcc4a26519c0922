"""Database engine, session configuration and the registry of every model (for Alembic)."""
