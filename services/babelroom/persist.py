"""The ``persist`` consumer: finals from the ``finals`` stream into ``transcript_segments``.

Every gateway replica runs one member of the consumer group ``persist`` (in its lifespan), so the
history is written wherever the gateway runs, with no extra service. Inserts are idempotent: a row
is unique per room + speaker + per-speaker seq (``ON CONFLICT DO NOTHING``), so a redelivered or
replayed entry never duplicates one. A final for a room the database does not know (a room not made
through the API) is logged and skipped. A database error leaves the batch pending; another member
(or this one) retries it after ``bus_claim_idle_ms`` (see :mod:`babelroom.bus.stage`).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from babelroom import metrics
from babelroom.bus.schemas import FinalRecord
from babelroom.bus.stage import run_stage
from babelroom.bus.streams import FINALS_STREAM, PERSIST_GROUP, Consumer, Entry
from babelroom.config import Settings
from babelroom.db.models import Room, TranscriptSegment
from babelroom.db.session import Database
from babelroom.runner import consumer_name

log = structlog.get_logger(__name__)
BATCH_SIZE = 50


def _room_id(room: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(room)
    except ValueError:
        return None


def segment_row(record: FinalRecord, room_id: uuid.UUID) -> dict:
    """The ``transcript_segments`` values of one final."""
    spoken_ms = record.timings.get("segment_end")
    return {
        "room_id": room_id, "speaker": record.speaker, "speaker_name": record.speaker_name, "seq": record.seq,
        "room_seq": record.room_seq, "segment_id": record.segment_id, "audio_start_ms": record.audio_start_ms,
        "audio_end_ms": record.audio_end_ms, "language": record.language, "text": record.text,
        "translations": {lang: t.text for lang, t in record.translations.items()},
        "backends": {lang: t.backend for lang, t in record.translations.items()},
        "confidence": math.exp(record.avg_logprob) if record.avg_logprob is not None else None,
        "spoken_at": datetime.fromtimestamp(spoken_ms / 1000, UTC) if spoken_ms else datetime.now(UTC),
    }


class TranscriptWriter:
    """Writes batches of finals; returns only once they are committed (then the stage acknowledges)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle(self, batch: list[tuple[Entry, FinalRecord]]) -> None:
        records = [(m, _room_id(m.room)) for _, m in batch if m.text]
        wanted = {r for _, r in records if r is not None}
        async with self.db.session() as session:
            known = (set((await session.execute(select(Room.id).where(Room.id.in_(wanted)))).scalars())
                     if wanted else set())
            rows = [segment_row(m, r) for m, r in records if r in known]
            inserted = 0
            if rows:
                result = await session.execute(
                    insert(TranscriptSegment).values(rows)
                    .on_conflict_do_nothing(constraint="uq_transcript_segments_room_speaker_seq")
                    .returning(TranscriptSegment.id)
                )
                inserted = len(result.all())
                await session.commit()
        for m, r in records:
            if r not in known:
                log.warning("persist.unknown_room", room=m.room, segment_id=m.segment_id)
        metrics.TRANSCRIPT_SEGMENTS_PERSISTED.inc(inserted)
        if inserted < len(rows):
            log.info("persist.replayed", skipped=len(rows) - inserted)


async def run_persist(settings: Settings, redis: aioredis.Redis, db: Database, stop: asyncio.Event) -> None:
    """Consume ``finals`` as a member of ``persist`` until ``stop`` is set."""
    consumer = Consumer(redis, FINALS_STREAM, PERSIST_GROUP, f"gateway-{consumer_name(settings)}",
                        claim_idle_ms=settings.bus_claim_idle_ms)
    await run_stage(consumer, FinalRecord, TranscriptWriter(db).handle, batch_size=BATCH_SIZE, stop=stop)
