"""Room events (:class:`~babelroom.bus.schemas.Notice`) on the per-room stream ``notices:{room}``.

The room manager publishes them; every caption and audio socket of the room follows the stream
(from the moment it opened) and forwards them to its client.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from babelroom.bus.schemas import Notice
from babelroom.bus.streams import StreamEntries, notices_stream

NOTICES_MAXLEN = 100
NOTICES_TTL_S = 24 * 3600


async def publish(redis: aioredis.Redis, notice: Notice) -> None:
    """Add ``notice`` to its room's stream (kept a day, at most ~100 entries)."""
    stream = notices_stream(notice.room)
    await redis.xadd(stream, notice.to_fields(), maxlen=NOTICES_MAXLEN, approximate=True)
    await redis.expire(stream, NOTICES_TTL_S)


async def latest_id(redis: aioredis.Redis, room: str) -> str:
    """The id to follow the room's notices from (only those published after now)."""
    last = cast(StreamEntries, await redis.xrevrange(notices_stream(room), count=1))
    return last[0][0].decode() if last else "0-0"
