"""Which caption languages a room's listeners want, kept in Redis so every replica sees it.

Each open caption socket is a member ``{lang}|{conn_id}`` of the sorted set ``room:{room}:listeners``
scored by its expiry (Unix s). The gateway refreshes the score while the socket lives, so a crashed
gateway's listeners age out by themselves.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

LISTENER_TTL_S = 30


def _key(room: str) -> str:
    return f"room:{room}:listeners"


async def register(redis: aioredis.Redis, room: str, lang: str, conn_id: str) -> None:
    """Add or refresh a listener of ``room`` in ``lang`` for another :data:`LISTENER_TTL_S` s."""
    await redis.zadd(_key(room), {f"{lang}|{conn_id}": time.time() + LISTENER_TTL_S})
    await redis.expire(_key(room), LISTENER_TTL_S * 2)


async def unregister(redis: aioredis.Redis, room: str, lang: str, conn_id: str) -> None:
    """Remove a listener (its socket closed)."""
    await redis.zrem(_key(room), f"{lang}|{conn_id}")


async def languages(redis: aioredis.Redis, room: str) -> set[str]:
    """The languages some live listener of ``room`` asked for."""
    members = await redis.zrangebyscore(_key(room), time.time(), "+inf")
    return {(m.decode() if isinstance(m, bytes) else str(m)).split("|", 1)[0] for m in members}
