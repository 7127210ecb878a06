"""Alembic environment: runs the migrations over an asyncpg connection.

The URL comes from the config's ``sqlalchemy.url`` (set by :func:`babelroom.db.migrate.upgrade`).
All migrations run in one transaction under an advisory lock: gateway replicas that start together
and each migrate (``database_migrate_on_start``) wait for each other, and the later ones find the
schema current.
Source: https://alembic.sqlalchemy.org/en/latest/cookbook.html#using-asyncio-with-alembic
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from babelroom.db.models import Base

target_metadata = Base.metadata


#: pg_advisory_xact_lock key held while migrating, so that replicas starting together take turns.
MIGRATION_LOCK = 0x62616265  # "babe"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        context.run_migrations()


async def _run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
