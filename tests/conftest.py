"""Shared fixtures: a real redis-server on a free loopback port, and settings pointing at it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from babelroom.config import Settings
from babelroom.devstack import free_port

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
