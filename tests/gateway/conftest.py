"""Fixtures of the gateway's hardening tests: a private redis-server that a test may stop, restart or
flush, and the gateway on it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.conftest import register_instances

from babelroom.config import Settings
from babelroom.dev.devstack import free_port


class RedisProcess:
    """A redis-server on a fixed loopback port, without persistence: a restart loses every key."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server is not None, "redis-server is not installed"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
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
        """Kill and start again on the same port: every key is gone."""
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fragile_settings(db_settings: Settings, private_redis: RedisProcess) -> Settings:
    """The test database and the private Redis; sockets wait 2 s for Redis to come back."""
    register_instances(private_redis.url)
    return db_settings.model_copy(update={"redis_url": private_redis.url, "ws_redis_outage_grace_s": 2.0})
