"""The recent speech of each speaker of a diarized room, kept in Redis for the diarization job.

Ingest keeps no audio once STT has it, so for rooms with diarization on (:func:`enable`) every
accepted final segment's PCM is also added to ``diar:{room}:{speaker}:audio`` (a stream of at most
:data:`MAX_SEGMENTS` entries, dropped after ``diarization_buffer_ttl_s`` of silence): only Pro rooms
that opted in pay for it, and only about a minute per speaker (~2 MB at s16le 16 kHz). After a
segment, a ``babelroom.diarize`` job is queued unless one was queued less than
``diarization_interval_s`` ago (``diar:{room}:{speaker}:due``, SET NX EX), so each speaker's
window is diarized at most that often, whatever the number of gateway replicas. The job runs at the
end of that interval (Celery ``countdown``), not at its start, so that its window holds every final
of the interval: the finals that end a talk are labelled too (a job run at once would see only the
interval's first final, and nothing would come later to label the rest).

Times are the speaker's stream time (``audio_start_ms``/``audio_end_ms`` of the segments); the
window joins the segments end to end, silence between them left out (:class:`Window`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

import numpy as np
import redis.asyncio as aioredis
import structlog

from babelroom.bus.streams import StreamEntries
from babelroom.bus.tasks import producer
from babelroom.config import Settings
from babelroom.diarization.engine import SAMPLE_RATE, Audio

log = structlog.get_logger(__name__)

MAX_SEGMENTS = 64
DIARIZATION_QUEUE = "diarization"
DIARIZE_TASK = "babelroom.diarize"


def room_flag(room: str) -> str:
    return f"diar:{room}:on"


def audio_key(room: str, speaker: str) -> str:
    return f"diar:{room}:{speaker}:audio"


async def enable(redis: aioredis.Redis, room: str, ttl_s: int) -> None:
    """Turn diarization on for ``room`` for ``ttl_s`` seconds (the room's lifetime)."""
    await redis.set(room_flag(room), b"1", ex=ttl_s)


async def is_enabled(redis: aioredis.Redis, room: str) -> bool:
    return bool(await redis.exists(room_flag(room)))


@dataclass(frozen=True)
class BufferedSegment:
    """One final segment in a window: its identity, stream times (ms) and where it starts in the window (s)."""

    seq: int
    segment_id: str
    audio_start_ms: int
    audio_end_ms: int
    window_start_s: float
    window_end_s: float


@dataclass(frozen=True)
class Window:
    """The last ``diarization_window_s`` of one speaker's speech, segments joined end to end."""

    audio: Audio
    segments: tuple[BufferedSegment, ...]


async def remember(redis: aioredis.Redis, settings: Settings, *, room: str, speaker: str, seq: int,
                   segment_id: str, audio_start_ms: int, audio_end_ms: int, pcm: bytes) -> None:
    """Keep one accepted final's s16le PCM for the room's diarization job and queue the job when due."""
    key = audio_key(room, speaker)
    await redis.xadd(key, {"seq": seq, "segment_id": segment_id, "start_ms": audio_start_ms,
                           "end_ms": audio_end_ms, "pcm": pcm}, maxlen=MAX_SEGMENTS, approximate=False)
    await redis.expire(key, settings.diarization_buffer_ttl_s)
    interval = max(1, round(settings.diarization_interval_s))
    due = await redis.set(f"diar:{room}:{speaker}:due", b"1", nx=True, ex=interval)
    if due:
        await asyncio.to_thread(queue_job, settings, room, speaker, countdown_s=interval)


def queue_job(settings: Settings, room: str, speaker: str, countdown_s: float = 0.0) -> None:
    """Send ``babelroom.diarize(room, speaker)`` to the ``diarization`` queue, to run ``countdown_s``
    from now; it expires unrun ``diarization_job_expires_s`` after that (a busy worker skips stale
    windows: those finals get no labels)."""
    producer(settings.redis_url).send_task(DIARIZE_TASK, args=[room, speaker], queue=DIARIZATION_QUEUE,
                                           countdown=countdown_s or None,
                                           expires=countdown_s + settings.diarization_job_expires_s)
    log.debug("diarization.queued", room=room, speaker=speaker)


async def read_window(redis: aioredis.Redis, room: str, speaker: str, window_s: float) -> Window:
    """The speaker's buffered segments whose speech fits in the last ``window_s`` seconds of speech."""
    entries = cast(StreamEntries, await redis.xrevrange(audio_key(room, speaker), count=MAX_SEGMENTS))
    picked: list[tuple[dict[bytes, bytes], np.ndarray]] = []
    total = 0
    for _, fields in entries:  # newest first
        samples = np.frombuffer(fields[b"pcm"], dtype="<i2").astype(np.float32) / 32768.0
        if picked and total + samples.size > window_s * SAMPLE_RATE:
            break
        picked.append((fields, samples))
        total += samples.size
    picked.reverse()
    segments, offset = [], 0
    for fields, samples in picked:
        segments.append(BufferedSegment(
            int(fields[b"seq"]), fields[b"segment_id"].decode(), int(fields[b"start_ms"]), int(fields[b"end_ms"]),
            offset / SAMPLE_RATE, (offset + samples.size) / SAMPLE_RATE))
        offset += samples.size
    audio = np.concatenate([s for _, s in picked]) if picked else np.zeros(0, dtype=np.float32)
    return Window(audio.astype(np.float32, copy=False), tuple(segments))
