"""Redis closes clients idle for ``timeout`` seconds (stack/redis/redis.conf, the local stack): the
services' redis-py pools give back the sockets of past concurrency peaks, and reconnect at the next
checkout without an error. A real redis-server; the timeout is shortened to 1 s for the test."""

import asyncio
import re
from pathlib import Path

import redis.asyncio as aioredis

REDIS_CONF = Path(__file__).resolve().parents[2] / "stack" / "redis" / "redis.conf"


async def test_pool_connections_idle_past_the_timeout_are_closed_and_reopened(redis_url):
    admin = aioredis.from_url(redis_url)
    client = aioredis.from_url(redis_url)
    await admin.config_set("timeout", 1)
    try:
        await asyncio.gather(*(client.blpop(["nothing"], timeout=0.3) for _ in range(4)))  # a peak of 4
        assert int((await admin.info("clients"))["connected_clients"]) >= 5
        blocked = asyncio.create_task(client.xread({"s": "$"}, block=3000))  # busy, not idle
        await asyncio.sleep(2.5)
        assert int((await admin.info("clients"))["connected_clients"]) == 2  # admin + the blocked XREAD
        assert await blocked == []
        assert sorted(await asyncio.gather(*(client.incr("n") for _ in range(3)))) == [1, 2, 3]  # reopened, no error
        assert int(await client.get("n") or 0) == 3
    finally:
        await admin.config_set("timeout", 0)
        await client.aclose()
        await admin.aclose()


def test_the_stack_redis_closes_idle_clients_after_5_min():
    assert re.search(r"^timeout 300$", REDIS_CONF.read_text(), re.MULTILINE)
