"""The ``babelroom.diarize`` task (queue ``diarization``): speaker labels inside one participant's audio.

For a room with diarization on, ingest buffers each participant's final segments and queues this task
at most every ``diarization_interval_s`` (:mod:`babelroom.diarization.buffer`). One run:

1. reads the participant's last ``diarization_window_s`` of speech (segments joined end to end);
2. diarizes it with the process's diarizer (loaded once: :func:`babelroom.diarization.select.load_diarizer`);
3. gives the window's speakers stable labels by embedding cosine (:mod:`babelroom.diarization.tracking`);
4. labels each final by time overlap (:mod:`babelroom.diarization.labels`), writes
   ``transcript_segments.speaker_label`` and publishes a ``speakers_updated`` notice to the room.

Finals the transcript does not hold yet are labelled again by the next window (windows overlap).
The worker runs one task at a time (solo pool, prefetch 1); a task waiting longer than
``diarization_job_expires_s`` is dropped. Any failure is logged and counted, never raised to the
call: those captions simply have no labels.
"""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
import structlog
from sqlalchemy import bindparam, text

from babelroom import metrics
from babelroom.bus.schemas import Notice, SpeakerLabel
from babelroom.bus.streams import publish_notice
from babelroom.config import Settings, get_settings
from babelroom.db.session import Database
from babelroom.diarization.buffer import DIARIZE_TASK, read_window
from babelroom.diarization.engine import SAMPLE_RATE, Diarizer
from babelroom.diarization.labels import label_segments
from babelroom.diarization.select import load_diarizer
from babelroom.diarization.tracking import assign
from babelroom.jobs.app import app

log = structlog.get_logger(__name__)

_LABEL = text("UPDATE transcript_segments SET speaker_label = :label "
              "WHERE room_id = :room AND speaker = :speaker AND seq = :seq").bindparams(bindparam("room"))

_diarizer: Diarizer | None = None


def diarizer(settings: Settings) -> Diarizer:
    """This process's diarizer, loaded on first use."""
    global _diarizer
    if _diarizer is None:
        _diarizer = load_diarizer(settings)
        log.info("diarization.loaded", backend=_diarizer.name)
    return _diarizer


async def diarize_window(settings: Settings, redis: aioredis.Redis, db: Database, room: str,
                         speaker: str) -> dict[int, str]:
    """One run of the task (see the module docstring); returns ``seq`` → label of the window's finals."""
    window = await read_window(redis, room, speaker, settings.diarization_window_s)
    if not window.segments:
        metrics.DIARIZATION_JOBS.labels("empty").inc()
        return {}
    engine = diarizer(settings)
    result = await asyncio.to_thread(engine.diarize, window.audio)
    metrics.DIARIZATION_SECONDS.observe(result.seconds)
    if not result.turns:
        metrics.DIARIZATION_JOBS.labels("no_speech").inc()
        return {}
    stable = await assign(redis, room, speaker, result.embeddings, threshold=settings.diarization_match_cosine,
                          ttl_s=settings.diarization_buffer_ttl_s)
    labels = label_segments(window.segments, result.turns, stable)
    ids = {s.seq: s.segment_id for s in window.segments}
    if labels:
        async with db.session() as session:
            await session.execute(_LABEL, [{"label": label, "room": uuid.UUID(room), "speaker": speaker, "seq": seq}
                                           for seq, label in labels.items()])
            await session.commit()
    await publish_notice(redis, Notice(
        room=room, code="speakers_updated", user=speaker, message=f"{len(set(labels.values()))} speaker(s)",
        speakers=[SpeakerLabel(seq=seq, segment_id=ids[seq], label=label) for seq, label in sorted(labels.items())],
    ))
    metrics.DIARIZATION_JOBS.labels("labelled").inc()
    log.info("diarization.labelled", room=room, speaker=speaker, finals=len(labels), speakers=sorted(stable.values()),
             audio_s=round(window.audio.size / SAMPLE_RATE, 1), seconds=round(result.seconds, 2),
             backend=result.backend)
    return labels


async def _run(room: str, speaker: str) -> dict[int, str]:
    settings = get_settings()
    redis = aioredis.from_url(settings.redis_url)
    db = Database.from_settings(settings)
    try:
        return await diarize_window(settings, redis, db, room, speaker)
    finally:
        await redis.aclose()
        await db.close()


@app.task(name=DIARIZE_TASK)
def diarize(room: str, speaker: str) -> int:
    """The Celery task: label ``speaker``'s recent finals in ``room``; returns how many were labelled."""
    try:
        return len(asyncio.run(_run(room, speaker)))
    except Exception:  # labels are best effort: captions without them are still captions
        metrics.DIARIZATION_JOBS.labels("failed").inc()
        log.exception("diarization.failed", room=room, speaker=speaker)
        return 0
