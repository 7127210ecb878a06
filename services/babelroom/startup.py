"""Start-up checks of every service command: refuse unsafe secrets, wait (bounded) for Redis and the
database, and turn what fails into one readable line and a sysexits(3) status instead of a traceback.

Exit statuses (docs/security.md, "Exit codes"):

- ``EX_CONFIG`` (78): the configuration is unusable: a setting that does not parse, a default or
  short secret in production, a configured model missing or broken in production.
- ``EX_UNAVAILABLE`` (69): a service this one needs (Redis, the database) did not answer within
  ``startup_wait_s``.

Source: sysexits(3), https://man.freebsd.org/cgi/man.cgi?sysexits
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from babelroom.config import ENV_PREFIX, Settings

EX_UNAVAILABLE = 69
EX_CONFIG = 78

#: Shortest accepted HS256 signing key outside development (bytes): RFC 7518 §3.2 asks for a key of at
#: least the hash's size, 256 bits.
MIN_JWT_SECRET_BYTES = 32
#: Secrets that ship in this repository, in examples or in upstream sample configurations.
KNOWN_DEFAULTS = frozenset({
    str(Settings.model_fields["jwt_secret"].default), "change-me", "changeme", "secret", "password",
    "postgres", "babelroom", "supersecret", "admin", "test",
})

Dependency = Literal["redis", "database"]


class StartupError(Exception):
    """A service cannot start: ``str(self)`` is the one line shown, ``exit_code`` the process status."""

    def __init__(self, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.exit_code = exit_code


def invalid_settings(exc: ValidationError) -> StartupError:
    """``EX_CONFIG`` naming each setting that did not parse, as its environment variable, e.g.
    ``invalid settings: BABELROOM_GATEWAY_PORT: Input should be a valid integer (got 'abc')``."""
    problems = []
    for error in exc.errors():
        name = f"{ENV_PREFIX}{str(error['loc'][0]).upper()}" if error["loc"] else "settings"
        problems.append(f"{name}: {error['msg']} (got {str(error.get('input'))[:60]!r})")
    return StartupError("invalid settings: " + "; ".join(problems), EX_CONFIG)


def _weak(secret: str | None) -> bool:
    return secret is None or secret.strip().lower() in KNOWN_DEFAULTS


def secret_problems(settings: Settings, tokens: bool = True) -> list[str]:
    """What is unsafe about ``settings``' secrets (empty: nothing, or ``environment`` is development).

    Checked: with ``tokens`` (a service that signs or verifies JWTs: the gateway), ``jwt_secret`` and
    every ``jwt_retired_keys`` key (a known default, or shorter than ``MIN_JWT_SECRET_BYTES``); the
    password in ``database_url`` when set (a known default); ``janus_admin_key`` when ``janus_enabled``
    (unset or a known default).
    """
    if settings.environment == "development":
        return []
    from babelroom.auth.tokens import signing_keys

    problems = []
    for kid, key in (signing_keys(settings) if tokens else {}).items():
        name = "BABELROOM_JWT_SECRET" if kid == settings.jwt_kid else f"BABELROOM_JWT_RETIRED_KEYS ({kid})"
        if _weak(key) or len(key.encode()) < MIN_JWT_SECRET_BYTES:
            problems.append(f"{name} is a default or shorter than {MIN_JWT_SECRET_BYTES} bytes "
                            "(make one: openssl rand -hex 32)")
    if settings.database_url:
        from sqlalchemy.engine import make_url

        password = make_url(settings.database_url).password
        if password is not None and _weak(str(password)):
            problems.append("BABELROOM_DATABASE_URL has a default password")
    if settings.janus_enabled and _weak(settings.janus_admin_key):
        problems.append("BABELROOM_JANUS_ADMIN_KEY is unset or a default while Janus is enabled")
    return problems


def check_secrets(settings: Settings, tokens: bool = True) -> None:
    """Refuse to start with unsafe secrets outside development (``tokens``: see :func:`secret_problems`).

    Raises:
        StartupError: ``EX_CONFIG``, naming every problem of :func:`secret_problems` on one line.
    """
    problems = secret_problems(settings, tokens)
    if problems:
        raise StartupError(f"refusing to start in {settings.environment}: " + "; ".join(problems), EX_CONFIG)


def redacted(url: str) -> str:
    """``url`` without its password (``redis://:***@host:6379/0``), for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


async def _ping_redis(settings: Settings) -> None:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except RedisError as exc:
        raise ConnectionError(str(exc)) from exc
    finally:
        await client.aclose()


async def _ping_database(settings: Settings) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    assert settings.database_url is not None
    engine = create_async_engine(settings.database_url, poolclass=NullPool, connect_args={"timeout": 2})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise ConnectionError(str(getattr(exc, "orig", None) or exc)) from exc
    finally:
        await engine.dispose()


async def _wait(name: str, where: str, ping: Callable[[], Awaitable[None]], deadline: float) -> None:
    """Call ``ping`` until it succeeds or ``deadline`` (monotonic s) passes; ``ping`` raises OSError
    (ConnectionError) or TimeoutError while the service is not reachable.

    Raises:
        StartupError: ``EX_UNAVAILABLE`` with the last error, after the deadline.
    """
    started = time.monotonic()
    while True:
        try:
            await asyncio.wait_for(ping(), timeout=max(0.5, deadline - time.monotonic()))
            return
        except (OSError, TimeoutError) as exc:  # ConnectionError is an OSError
            if time.monotonic() >= deadline:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise StartupError(f"cannot reach {name} at {where} after {time.monotonic() - started:.0f} s: "
                                   f"{reason}", EX_UNAVAILABLE) from exc
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


async def wait_for(settings: Settings, needs: Iterable[Dependency]) -> None:
    """Wait until every dependency in ``needs`` answers, for at most ``startup_wait_s`` in all. The
    database is only checked when ``database_url`` is set (the embedded one is started by the process).

    Raises:
        StartupError: ``EX_UNAVAILABLE`` naming the first dependency that did not answer in time.
    """
    deadline = time.monotonic() + settings.startup_wait_s
    for need in needs:
        if need == "redis":
            await _wait("Redis", redacted(settings.redis_url), lambda: _ping_redis(settings), deadline)
        elif settings.database_url:
            await _wait("the database", redacted(settings.database_url), lambda: _ping_database(settings), deadline)


def preflight(settings: Settings, needs: Iterable[Dependency] = (), tokens: bool = False) -> None:
    """Every start-up check of a service command: secrets (the JWT keys only with ``tokens``: the
    workers have none), then the dependencies in ``needs``.

    Raises:
        StartupError: the first check that failed.
    """
    check_secrets(settings, tokens)
    asyncio.run(wait_for(settings, needs))
