"""A room's document terms for the STT worker, from Redis: one read per decode, never waiting on PostgreSQL, the
embedder or a job.

Keys (JSON lists of strings, but the list ``context:recent``):

- ``context:terms:{room}``: every term of the room's documents, written by the API after each upload and
  delete (:func:`refresh`; deleted when the room has no document left). No key: no context, the decode is as
  without documents.
- ``context:nearest:{room}`` (``context_cache_ttl_s``): when the room has more than ``context_max_terms`` terms,
  those of the ``context_nearest_chunks`` document chunks nearest (pgvector, cosine) to the room's recent finals,
  put first; written by the ``babelroom.order_context_terms`` job on the jobs image (MiniLM needs torch, which
  the STT image has not). Until then the room's first terms are used.
- ``context:recent:{room}`` (a Redis list, newest first, at most ``context_recent_finals``): the finals the job
  embeds, pushed by the STT worker in the background; ``context:due:{room}`` (``context_order_interval_s``):
  a re-ordering job is queued (:func:`babelroom.context.queueing.queue_ordering`), none more for that interval.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from typing import Any, cast

import redis.asyncio as aioredis
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.config import Settings
from babelroom.context.queueing import queue_ordering
from babelroom.context.store import room_terms

log = structlog.get_logger(__name__)


def terms_key(room: str) -> str:
    return f"context:terms:{room}"


def nearest_key(room: str) -> str:
    return f"context:nearest:{room}"


def recent_key(room: str) -> str:
    return f"context:recent:{room}"


def due_key(room: str) -> str:
    return f"context:due:{room}"


async def recent_finals(redis: aioredis.Redis, room: str) -> list[str]:
    """The room's recent finals, newest first (``[]``: none, or they expired)."""
    return [f.decode() if isinstance(f, bytes) else f for f in await redis.lrange(recent_key(room), 0, -1)]


async def refresh(redis: aioredis.Redis, session: AsyncSession, room_id: uuid.UUID | str) -> list[str]:
    """Cache the room's terms afresh (after an upload or a delete) and forget the nearest ones; returns them."""
    terms = await room_terms(session, room_id)
    async with redis.pipeline(transaction=True) as pipe:
        if terms:
            pipe.set(terms_key(str(room_id)), json.dumps(terms))
        else:
            pipe.delete(terms_key(str(room_id)))
        pipe.delete(nearest_key(str(room_id)))
        await pipe.execute()
    return terms


class RoomContext:
    """What the STT worker asks for each decode: :meth:`terms`. Recording a room's recent final and queueing its
    re-ordering job run as background tasks, at most one per room at a time; their failures are logged and
    counted (``babelroom_context_failures_total``), never raised."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings = settings
        self.redis = redis
        self._running: dict[str, asyncio.Task[None]] = {}
        self._noted: dict[str, str] = {}

    async def terms(self, room: str, recent: str | None) -> list[str]:
        """The terms for a decode in ``room``, most useful first (Whisper keeps what fits its prompt budget);
        ``recent``: the speaker's last final, recorded for the room's next re-ordering job. One Redis read
        (the STT worker reads :meth:`keys` in its own MGET and calls :meth:`pick`)."""
        raw, nearest = cast(list[bytes | None], await self.redis.mget(*self.keys(room)))  # decode_responses=False
        return self.pick(room, recent, raw, nearest)

    @staticmethod
    def keys(room: str) -> tuple[str, str]:
        """The Redis keys :meth:`pick` needs, in its order: the room's terms, its nearest terms."""
        return terms_key(room), nearest_key(room)

    def pick(self, room: str, recent: str | None, raw: bytes | None, nearest: bytes | None) -> list[str]:
        """:meth:`terms` from the values of :meth:`keys` already read (``None``: absent)."""
        if raw is None:
            self._noted.pop(room, None)  # no documents (or the room closed): nothing to remember
            return []
        terms: list[str] = json.loads(raw)
        if len(terms) <= self.settings.context_max_terms:
            return terms
        if recent and self._noted.get(room) != recent:
            self._start(room, self._note(room, recent))
        first: list[str] = json.loads(nearest) if nearest else []
        chosen = {t.casefold() for t in first}
        return [*first, *(t for t in terms if t.casefold() not in chosen)][: self.settings.context_max_terms]

    def _start(self, room: str, job: Coroutine[Any, Any, None]) -> None:
        if room in self._running:
            job.close()
            return
        task = asyncio.create_task(self._guarded(room, job))
        self._running[room] = task
        task.add_done_callback(lambda _: self._running.pop(room, None))

    async def _guarded(self, room: str, job: Coroutine[Any, Any, None]) -> None:
        try:
            await job
        except Exception as exc:  # noqa: BLE001 - a context failure must never reach decoding
            metrics.CONTEXT_FAILURES.inc()
            log.warning("context.failed", room=room, error=repr(exc))

    async def _note(self, room: str, recent: str) -> None:
        """Push ``recent`` onto the room's recent finals and queue a re-ordering job unless one is due."""
        self._noted[room] = recent
        interval_ms = max(1, round(self.settings.context_order_interval_s * 1000))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(recent_key(room), recent)
            pipe.ltrim(recent_key(room), 0, self.settings.context_recent_finals - 1)
            pipe.expire(recent_key(room), self.settings.context_cache_ttl_s)
            pipe.set(due_key(room), b"1", nx=True, px=interval_ms)
            *_, due = await pipe.execute()
        if due:
            await asyncio.to_thread(queue_ordering, self.settings, room)

    async def close(self) -> None:
        """Cancel running tasks."""
        for task in list(self._running.values()):
            task.cancel()
