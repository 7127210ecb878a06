"""Connections: the database URL a service uses, and its async engine and sessions.

Source: SQLAlchemy 2 asyncio, https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from babelroom.config import Settings


def database_url(settings: Settings) -> str:
    """``settings.database_url``, else the embedded server's (started on first use) under
    ``state_dir/postgres``."""
    if settings.database_url:
        return settings.database_url
    from babelroom.db.embedded import embedded_database

    return embedded_database((settings.state_dir / "postgres").resolve())


class Database:
    """One process's engine (a pool of asyncpg connections) and its session factory.

    Sessions do not expire objects on commit, so a route can return what it just committed.
    """

    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_url(settings), settings.database_pool_size)

    def session(self) -> AsyncSession:
        """A new session (use as ``async with db.session() as s``)."""
        return self.sessions()

    async def ping(self) -> bool:
        """True when ``SELECT 1`` answers."""
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar() == 1

    async def close(self) -> None:
        await self.engine.dispose()
