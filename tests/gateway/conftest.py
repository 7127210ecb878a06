"""Fixtures of the gateway's hardening tests: a private redis-server that a test may stop, restart or
flush (:class:`tests.conftest.RedisServer`), and the gateway on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import RedisServer, register_instances

from babelroom.config import Settings


@pytest.fixture
def private_redis(own_redis: RedisServer) -> Iterator[RedisServer]:
    """:func:`tests.conftest.own_redis`, started."""
    own_redis.start()
    yield own_redis


@pytest.fixture
def fragile_settings(db_settings: Settings, private_redis: RedisServer) -> Settings:
    """The test database and the private Redis; sockets wait 2 s for Redis to come back."""
    register_instances(private_redis.url)
    return db_settings.model_copy(update={"redis_url": private_redis.url, "ws_redis_outage_grace_s": 2.0})
