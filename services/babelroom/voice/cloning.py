"""Who gets a cloned voice, and queueing the job that speaks it (``babelroom.xtts`` on queue ``xtts``).

A speaker's finals are re-spoken in their own voice when their tier has ``voice_clone`` and they have a
stored voice sample (the newest one that has not expired): :func:`clone_source` looks that up in
PostgreSQL; :class:`CloneQueue` keeps the answer in Redis for ``xtts_source_cache_s``
(``xtts:source:{speaker}``) so that the TTS worker asks the database about once a minute per speaker,
not once per final.

:meth:`CloneQueue.offer` sends one job per (final, listener language) after the quick voice has been
published; the job expires unrun after ``xtts_job_expires_s`` (a busy or absent xtts worker: the
listener keeps the quick voice). Any failure here costs the cloned voice only, never the quick one:
it is logged and counted in ``babelroom_xtts_queued_total{result}``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from babelroom import metrics
from babelroom.bus.schemas import FinalRecord
from babelroom.bus.tasks import producer
from babelroom.config import Settings
from babelroom.db.models import User, VoiceSample
from babelroom.db.session import Database
from babelroom.tiers import effective_limits

log = structlog.get_logger(__name__)

XTTS_QUEUE = "xtts"
XTTS_TASK = "babelroom.xtts"
NO_SOURCE = b"-"


@dataclass(frozen=True)
class CloneSource:
    """The voice sample a speaker's cloned voice is made from: its id and file under ``voice_sample_dir``."""

    sample_id: str
    storage_path: str


def source_key(speaker: str) -> str:
    return f"xtts:source:{speaker}"


async def clone_source(db: Database, speaker: str) -> CloneSource | None:
    """The sample to clone ``speaker`` (a user id) from: their newest unexpired stored sample that passed the
    one-speaker check (``speaker_check``), if their tier has ``voice_clone``; else None (also for a speaker id
    that is not a user's)."""
    try:
        user_id = uuid.UUID(speaker)
    except ValueError:
        return None
    async with db.session() as session:
        user = await session.get(User, user_id)
        if user is None or not effective_limits(user).features.get("voice_clone", False):
            return None
        sample = (await session.execute(
            select(VoiceSample).where(VoiceSample.user_id == user_id, VoiceSample.storage_path.is_not(None),
                                      VoiceSample.speaker_check == "passed",
                                      or_(VoiceSample.expires_at.is_(None), VoiceSample.expires_at > datetime.now(UTC)))
            .order_by(VoiceSample.created_at.desc()).limit(1)
        )).scalar_one_or_none()
    if sample is None or sample.storage_path is None:
        return None
    return CloneSource(str(sample.id), sample.storage_path)


class CloneQueue:
    """Offers finals to the xtts worker.

    Args:
        settings: ``redis_url`` (the broker), ``xtts_job_expires_s``, ``xtts_source_cache_s``.
        redis: asyncio Redis client (bytes responses), for the cached answers.
        db: where users, tiers and voice samples are.
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis, db: Database) -> None:
        self.settings, self.redis, self.db = settings, redis, db

    async def source(self, speaker: str) -> CloneSource | None:
        """:func:`clone_source`, through the Redis cache.

        Raises:
            RedisError, SQLAlchemyError, OSError: Redis or PostgreSQL unreachable.
        """
        cached = await self.redis.get(source_key(speaker))
        if cached is not None:
            return None if cached == NO_SOURCE else CloneSource(**json.loads(cached))
        found = await clone_source(self.db, speaker)
        value = NO_SOURCE if found is None else json.dumps(asdict(found)).encode()
        await self.redis.set(source_key(speaker), value, ex=self.settings.xtts_source_cache_s)
        return found

    async def offer(self, final: FinalRecord, language: str) -> bool:
        """Queue ``final``'s re-speaking in ``language`` when its speaker may clone; True when queued."""
        try:
            source = await self.source(final.speaker)
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("xtts.lookup_failed", speaker=final.speaker, error=repr(exc))
            metrics.XTTS_QUEUED.labels("lookup_failed").inc()
            return False
        if source is None:
            metrics.XTTS_QUEUED.labels("no_clone").inc()
            return False
        try:
            await asyncio.to_thread(
                producer(self.settings.redis_url).send_task, XTTS_TASK,
                args=[final.model_dump_json(), language, source.sample_id, source.storage_path],
                queue=XTTS_QUEUE, expires=self.settings.xtts_job_expires_s)
        except (OperationalError, RedisError, OSError) as exc:  # broker unreachable: the quick voice is out
            log.warning("xtts.queue_failed", room=final.room, segment_id=final.segment_id, error=repr(exc))
            metrics.XTTS_QUEUED.labels("queue_failed").inc()
            return False
        metrics.XTTS_QUEUED.labels("queued").inc()
        log.debug("xtts.queued", room=final.room, segment_id=final.segment_id, language=language)
        return True
