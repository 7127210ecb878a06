"""Which languages a room's listeners want, as captions or as speech, kept in Redis so every replica
sees it.

Each open socket is a member ``{lang}|{conn_id}`` of a sorted set scored by its expiry (Unix s):
``room:{room}:listeners`` for captions, ``room:{room}:audio_listeners`` for translated speech (the
``babelroom tts`` worker speaks only those languages). The gateway refreshes the score while the socket
lives, so a crashed gateway's listeners age out by themselves.
"""

from __future__ import annotations

import time
from typing import Literal

import redis.asyncio as aioredis

LISTENER_TTL_S = 30
Mode = Literal["captions", "audio"]
MODES: tuple[Mode, ...] = ("captions", "audio")


def _key(room: str, mode: Mode = "captions") -> str:
    return f"room:{room}:listeners" if mode == "captions" else f"room:{room}:audio_listeners"


async def register(redis: aioredis.Redis, room: str, lang: str, conn_id: str, mode: Mode = "captions") -> None:
    """Add or refresh a listener of ``room`` in ``lang`` for another :data:`LISTENER_TTL_S` s."""
    await redis.zadd(_key(room, mode), {f"{lang}|{conn_id}": time.time() + LISTENER_TTL_S})
    await redis.expire(_key(room, mode), LISTENER_TTL_S * 2)


async def unregister(redis: aioredis.Redis, room: str, lang: str, conn_id: str, mode: Mode = "captions") -> None:
    """Remove a listener (its socket closed)."""
    await redis.zrem(_key(room, mode), f"{lang}|{conn_id}")


async def languages(redis: aioredis.Redis, room: str, mode: Mode | None = None) -> set[str]:
    """The languages some live listener of ``room`` asked for in ``mode``; ``None``: in any mode (what
    MT translates to, since speech is made from the translation)."""
    found: set[str] = set()
    for each in MODES if mode is None else (mode,):
        members = await redis.zrangebyscore(_key(room, each), time.time(), "+inf")
        found |= {(m.decode() if isinstance(m, bytes) else str(m)).split("|", 1)[0] for m in members}
    return found
