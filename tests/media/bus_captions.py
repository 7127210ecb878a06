"""Captions read straight from the bus, as a caption socket would get them, without the gateway:
the reader registers as a live listener of each language (so MT translates into it) and follows
``captions:{room}`` (finals) and ``captions:{room}:partial`` (partials, retractions)."""

from __future__ import annotations

import asyncio
import time
import uuid

import redis.asyncio as aioredis

from babelroom.bus.schemas import Caption
from babelroom.bus.streams import captions_stream, partial_captions_stream
from babelroom.captions import listeners


class BusCaptions:
    """Collects ``room``'s captions per language from the moment :meth:`start` returns."""

    def __init__(self, redis_url: str, room: str, langs: tuple[str, ...] = ("en", "es")) -> None:
        self.redis = aioredis.from_url(redis_url)
        self.room, self.langs = room, langs
        self.got: dict[str, list[tuple[Caption, float]]] = {lang: [] for lang in langs}
        self._conn = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> BusCaptions:
        for lang in self.langs:
            await listeners.register(self.redis, self.room, lang, self._conn)
        self._task = asyncio.create_task(self._follow())
        return self

    async def _follow(self) -> None:
        positions = {captions_stream(self.room): "0-0", partial_captions_stream(self.room): "0-0"}
        refreshed = time.monotonic()
        while True:
            for stream, items in await self.redis.xread(dict(positions), block=500, count=100) or []:
                for entry_id, fields in items:
                    positions[stream.decode()] = entry_id.decode()
                    caption = Caption.from_fields(fields)
                    if caption.translation.language in self.got:
                        self.got[caption.translation.language].append((caption, time.time()))
            if time.monotonic() - refreshed > 10:
                for lang in self.langs:
                    await listeners.register(self.redis, self.room, lang, self._conn)
                refreshed = time.monotonic()

    def finals(self, lang: str) -> list[Caption]:
        """Final captions in ``lang``, in the speaker's order."""
        return sorted((c for c, _ in self.got[lang] if c.type == "final"), key=lambda c: (c.speaker, c.seq))

    def quiet_for(self) -> float:
        """Seconds since the last caption (of any language), or since start."""
        stamps = [t for rows in self.got.values() for _, t in rows]
        return time.time() - max(stamps) if stamps else float("inf")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for lang in self.langs:
            await listeners.unregister(self.redis, self.room, lang, self._conn)
        await self.redis.aclose()
