"""Schema migrations (Alembic), run by ``babelroom migrate``, the local stack and the tests.

The Alembic configuration and scripts ship inside the package (``alembic.ini``, ``migrations/``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(url: str) -> Config:
    """The packaged Alembic configuration pointed at ``url`` (an async SQLAlchemy URL)."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``. Blocking: call it outside an event loop.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unreachable or a migration failed
            (each migration runs in one transaction, so a failed one leaves no trace).
    """
    command.upgrade(alembic_config(url), revision)
