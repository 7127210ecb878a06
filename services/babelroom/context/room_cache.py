"""A room's document terms for the STT worker, from Redis, never waiting on PostgreSQL or the embedder.

Keys (JSON lists of strings):

- ``context:terms:{room}``: every term of the room's documents, written by the API after each upload and
  delete (:func:`refresh`; deleted when the room has no document left). No key: no context, the decode is as
  without documents. The worker never reads PostgreSQL for it, so a room without documents costs one GET.
- ``context:nearest:{room}`` (``context_cache_ttl_s``): when the room has more than ``context_max_terms`` terms,
  those of the ``context_nearest_chunks`` document chunks nearest (pgvector, cosine) to the speaker's last final,
  found in the background and put first; until then the room's first terms are used.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.config import Settings
from babelroom.context.embeddings import embedder
from babelroom.context.store import nearest_terms, room_terms
from babelroom.db.session import Database

log = structlog.get_logger(__name__)


def terms_key(room: str) -> str:
    return f"context:terms:{room}"


def nearest_key(room: str) -> str:
    return f"context:nearest:{room}"


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
    """What the STT worker asks for each decode: :meth:`terms`. Retrievals run as background tasks,
    at most one per room at a time; their failures are logged and counted, never raised."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings = settings
        self.redis = redis
        self._db: Database | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._asked: dict[str, str] = {}

    async def terms(self, room: str, recent: str | None) -> list[str]:
        """The terms for a decode in ``room``, most useful first (Whisper keeps what fits its prompt budget);
        ``recent``: the speaker's last final, to retrieve the nearest chunks with."""
        raw = await self.redis.get(terms_key(room))
        if raw is None:
            return []
        terms: list[str] = json.loads(raw)
        if len(terms) <= self.settings.context_max_terms:
            return terms
        if recent and self._asked.get(room) != recent:
            self._start(room, self._retrieve(room, recent))
        nearest = await self.redis.get(nearest_key(room))
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

    def _database(self) -> Database:
        if self._db is None:
            self._db = Database.from_settings(self.settings)
        return self._db

    async def _retrieve(self, room: str, recent: str) -> None:
        self._asked[room] = recent
        vector = (await asyncio.to_thread(embedder(self.settings.embedding_model_dir).embed, [recent]))[0]
        async with self._database().session() as session:
            found = await nearest_terms(session, room, vector, self.settings.context_nearest_chunks)
        await self.redis.set(nearest_key(room), json.dumps(found), ex=self.settings.context_cache_ttl_s)

    async def close(self) -> None:
        """Cancel running tasks and close the database pool."""
        for task in list(self._running.values()):
            task.cancel()
        if self._db is not None:
            await self._db.close()
