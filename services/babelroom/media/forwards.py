"""Which RTP stream is whose: the SSRC → participant registry shared by the room manager and the media
service, in Redis.

An audio tap is registered *before* Janus is asked to forward, with the SSRC that Janus is then
told to put on the forwarded packets, so the media service knows the speaker from the first packet.

Redis layout:

- hash ``media:forwards``: field = SSRC (decimal), value = :class:`Forward` as JSON;
- channel ``media:forwards:changes``: ``{"op": "add"|"remove", "ssrc": n}`` after every change, so the
  media service finishes a stream (flushes its last segment) the moment its tap is removed.

SSRCs are random 32-bit numbers reserved with ``HSETNX``, so two taps never share one.
"""

from __future__ import annotations

import json
import secrets
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

FORWARDS_KEY = "media:forwards"
CHANGES_CHANNEL = "media:forwards:changes"


class Forward(BaseModel):
    """One audio tap: a publisher's audio forwarded by Janus to the media service.

    Attributes:
        ssrc: the SSRC Janus stamps on the forwarded packets (the registry key).
        room: our room id (the bus's ``room``).
        participant, name, language: the speaker, as on the audio WebSocket's header.
        janus_room, publisher_id: where the audio comes from in Janus.
        stream_id: Janus's id of the forwarder, once it exists (for ``stop_rtp_forward``).
        created_ms: wall clock of the registration.
    """

    model_config = ConfigDict(extra="ignore")

    ssrc: int = Field(ge=1, lt=2**32)
    room: str
    participant: str
    name: str = ""
    language: str
    janus_room: str | int | None = None
    publisher_id: str | int | None = None
    stream_id: int | None = None
    created_ms: int = Field(default_factory=lambda: int(time.time() * 1000))


class ForwardRegistry:
    """Register, look up and remove audio taps (asyncio Redis client)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def register(self, **fields: object) -> Forward:
        """Reserve a fresh SSRC for a new tap and store it; ``fields`` as :class:`Forward` (no ssrc).

        Raises:
            pydantic.ValidationError: a field is missing or invalid.
        """
        while True:
            forward = Forward(ssrc=secrets.randbelow(2**32 - 1) + 1, **fields)
            if await self.redis.hsetnx(FORWARDS_KEY, str(forward.ssrc), forward.model_dump_json()):
                break
        await self._announce("add", forward.ssrc)
        return forward

    async def update(self, forward: Forward) -> None:
        """Store changed fields of a registered tap (e.g. ``stream_id`` once Janus answered)."""
        await self.redis.hset(FORWARDS_KEY, str(forward.ssrc), forward.model_dump_json())

    async def get(self, ssrc: int) -> Forward | None:
        """The tap with ``ssrc``, or None."""
        raw = await self.redis.hget(FORWARDS_KEY, str(ssrc))
        return Forward.model_validate_json(raw) if raw else None

    async def all(self) -> list[Forward]:
        """Every registered tap."""
        return [Forward.model_validate_json(v) for v in (await self.redis.hgetall(FORWARDS_KEY)).values()]

    async def remove(self, ssrc: int) -> Forward | None:
        """Unregister a tap; the media service then ends its stream. Returns what was removed."""
        forward = await self.get(ssrc)
        if await self.redis.hdel(FORWARDS_KEY, str(ssrc)):
            await self._announce("remove", ssrc)
        return forward

    async def _announce(self, op: str, ssrc: int) -> None:
        await self.redis.publish(CHANGES_CHANNEL, json.dumps({"op": op, "ssrc": ssrc}))
