"""Room events (:class:`~babelroom.bus.schemas.Notice`) on the per-room stream ``notices:{room}``.

The room manager publishes them; every caption and audio socket of the room follows the stream
(from the moment it opened) and forwards them to its client.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from babelroom.bus.streams import StreamEntries, notices_stream
from babelroom.bus.streams import publish_notice as publish

__all__ = ["latest_id", "publish"]


async def latest_id(redis: aioredis.Redis, room: str) -> str:
    """The id to follow the room's notices from (only those published after now)."""
    last = cast(StreamEntries, await redis.xrevrange(notices_stream(room), count=1))
    return last[0][0].decode() if last else "0-0"
