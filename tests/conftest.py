"""Shared fixtures: a real redis-server on a free loopback port, and settings pointing at it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from babelroom.config import Settings
from babelroom.dev.devstack import free_port

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the whole session (flushed between tests by ``redis_url``)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: `make test` installs it (Debian redis-server)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session Redis, emptied for this test."""
    redis.Redis.from_url(redis_server_url).flushall()
    return redis_server_url


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the emptied Redis."""
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its Redis, an empty models dir (so fallbacks are used)."""
    return Settings(redis_url=redis_url, models_dir=tmp_path / "models", state_dir=tmp_path / "state")


# --- PostgreSQL (issue 3): the embedded server, one fresh database per session ---------------------

#: The test PostgreSQL's data directory: inside the project's ignored .state/, because pgserver (as
#: root) opens traverse permission on every parent of it. Concurrent sessions share the server.
TEST_PGDATA = ROOT / ".state" / "test-postgres"
#: Tables emptied before every test that asks for ``database_url`` (the tiers are reset instead).
DATA_TABLES = ("organisations", "users", "auth_sessions", "rooms", "room_participants", "transcript_segments",
               "voice_samples", "documents")


def run_sql(url: str, *statements: str, params: dict | None = None) -> list[dict]:
    """Run ``statements`` in one transaction on ``url``; returns the rows of the last one (if any)."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def go() -> list:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                result = None
                for statement in statements:
                    result = await conn.execute(text(statement), params or {})
                return [dict(r) for r in result.mappings()] if result is not None and result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture(scope="session")
def project_state_dir() -> Iterator:
    """Makes state directories under the project's ``.state/tests/`` (for anything that starts an
    embedded PostgreSQL: see TEST_PGDATA) and removes them after the session."""
    import shutil
    import uuid

    made: list[Path] = []

    def make(name: str) -> Path:
        path = ROOT / ".state" / "tests" / f"{name}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A new database on the embedded test PostgreSQL, migrated to head, dropped after the session."""
    import os

    from babelroom.db.embedded import drop_database, embedded_database, stop_embedded
    from babelroom.db.migrate import upgrade

    name = f"babelroom_test_{os.getpid()}"
    url = embedded_database(TEST_PGDATA.resolve(), name)
    upgrade(url)
    yield url
    drop_database(TEST_PGDATA.resolve(), name)
    stop_embedded(TEST_PGDATA.resolve())


@pytest.fixture(scope="session")
def seed_tiers(pg_database_url: str) -> list[dict]:
    """The tiers as the migration seeded them."""
    return run_sql(pg_database_url, "SELECT * FROM tiers ORDER BY rank")


@pytest.fixture
def database_url(pg_database_url: str, seed_tiers: list[dict]) -> str:
    """The session database with no accounts, rooms or transcripts, and the seeded tiers."""
    import json

    def literal(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, dict):
            return f"'{json.dumps(value)}'::jsonb"
        return str(value).lower() if isinstance(value, bool) else str(value)

    resets = [
        "UPDATE tiers SET " + ", ".join(f"{k} = {literal(v)}" for k, v in t.items() if k != "name")
        + f" WHERE name = '{t['name']}'"
        for t in seed_tiers
    ]
    run_sql(pg_database_url, f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE", *resets)
    return pg_database_url


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    """``settings`` plus the emptied test database."""
    return settings.model_copy(update={"database_url": database_url})


# --- the gateway with its API (issue 3) -------------------------------------------------------------

TEST_SLOTS = 4  # speaking streams of each registered test instance


def register_instances(redis_url: str, slots: int = TEST_SLOTS, ttl_s: float = 3600, **pools: str) -> None:
    """Register worker instances in the capacity state (``stt="stt-test"`` …) as a live worker would."""
    import asyncio

    from babelroom.capacity import Capacity

    async def go() -> None:
        client = aioredis.from_url(redis_url)
        try:
            for pool, instance in (pools or {"stt": "stt-test", "mt": "mt-test"}).items():
                await Capacity(client, 60).register(pool, instance, slots, ttl_s)
        finally:
            await client.aclose()

    asyncio.run(go())


@pytest.fixture
def gateway(db_settings: Settings, redis_url: str) -> Iterator:
    """A TestClient of the gateway on the test Redis and database, with one STT and one MT instance
    of ``TEST_SLOTS`` slots registered."""
    from fastapi.testclient import TestClient

    from babelroom.gateway.app import create_app

    register_instances(redis_url)
    with TestClient(create_app(db_settings)) as client:
        yield client


class Account:
    """A registered test user: its id, tokens and Authorization header."""

    def __init__(self, pair: dict, email: str) -> None:
        self.id, self.email = pair["user_id"], email
        self.token, self.refresh = pair["access_token"], pair["refresh_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}


class Accounts:
    """Makes users through the API, then sets their tier, role or overrides in the database."""

    def __init__(self, client, database_url: str) -> None:
        self.client, self.database_url, self.n = client, database_url, 0

    def create(self, tier: str = "free", role: str = "user", name: str | None = None, **sql: str) -> Account:
        self.n += 1
        email = f"user{self.n}-{tier}@test.babelroom.local"
        response = self.client.post("/api/auth/register", json={
            "email": email, "password": "password-123", "display_name": name or f"User {self.n}"})
        assert response.status_code == 201, response.text
        account = Account(response.json(), email)
        sets = ", ".join([f"tier_name = '{tier}'", f"role = '{role}'", *(f"{k} = {v}" for k, v in sql.items())])
        run_sql(self.database_url, f"UPDATE users SET {sets} WHERE id = '{account.id}'")
        return account


@pytest.fixture
def accounts(gateway, database_url: str) -> Accounts:
    """Test users of ``gateway`` (``accounts.create(tier="premium")``)."""
    return Accounts(gateway, database_url)


# --- a Redis of one's own, to stop and restart (issue 8: workers that recover by themselves) --------

class RedisServer:
    """A redis-server on a fixed free port with no persistence: :meth:`restart` brings it back empty,
    as a Redis without a volume comes back after a crash."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.025)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        """Kill it (SIGKILL: no goodbye to the clients) and start it again, empty."""
        self.stop()
        self.start()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A :class:`RedisServer` not started yet (``own_redis.start()``), stopped after the test."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()


def run_as_on_the_runtime_image(script: str, *args: str) -> dict:
    """Run ``script`` (Python source) in a new interpreter where ``torch`` and ``transformers`` cannot be
    imported, as on the production runtime image (the Dockerfile's ``runtime`` stage has no torch), with
    ``args`` as ``sys.argv[1:]`` and this repository importable; return the JSON object of its last line.

    Raises:
        AssertionError: the script exited non-zero (its stderr's end is in the message).
    """
    root = Path(__file__).resolve().parents[1]
    blocked = 'import sys; sys.modules["torch"] = sys.modules["transformers"] = None\n'
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "services")])}
    done = subprocess.run([sys.executable, "-c", blocked + script, *args], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
