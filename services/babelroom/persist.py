"""The ``persist`` consumer: finals from the ``finals`` stream into ``transcript_segments``.

Every gateway replica runs one member of the consumer group ``persist`` (in its lifespan), so the
history is written wherever the gateway runs, with no extra service. Inserts are idempotent: a row
is unique per room + speaker + per-speaker seq (``ON CONFLICT DO NOTHING``), so a redelivered or
replayed entry never duplicates one. A final for a room the database does not know (a room not made
through the API) is logged and skipped.

Failures (see :mod:`babelroom.bus.stage`): a database outage (connection refused or lost, the server
starting or shutting down, pool timeout) raises :class:`~babelroom.bus.stage.DependencyDown`: the
finals stay pending under this member, retried with back-off until PostgreSQL is back, and never
count as deliveries, so an outage of any length loses no history. A final the database refuses for
itself (integrity or data error) raises :class:`~babelroom.bus.stage.BadEntry` and ends up in
``finals:dead``. The consume loop rides out Redis outages; should it end with an unexpected error,
:func:`run_persist` starts it again after a back-off (the gateway keeps serving).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis
import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from babelroom import metrics
from babelroom.bus.backoff import Backoff
from babelroom.bus.health import StageHealth
from babelroom.bus.schemas import FinalRecord
from babelroom.bus.stage import BadEntry, DependencyDown, run_stage
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


async def stored_seq_floor(db: Database, room: str, speaker: str) -> int:
    """The speaker's highest ``seq`` stored for ``room`` (0: none, or a room not made through the API).

    The ingest starts its counter above it (:func:`babelroom.bus.counters.incr_above`), so that a
    Redis that lost its counters never reuses a stored number (the row would be dropped as a replay).

    Raises:
        sqlalchemy.exc.OperationalError: PostgreSQL is unreachable.
    """
    room_id = _room_id(room)
    if room_id is None:
        return 0
    async with db.session() as session:
        query = select(func.max(TranscriptSegment.seq)).where(
            TranscriptSegment.room_id == room_id, TranscriptSegment.speaker == speaker)
        return int((await session.execute(query)).scalar() or 0)


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


#: Errors (anywhere in an exception's chain) that mean "the database is unreachable", not "bad final".
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset, unix socket missing; TimeoutError too
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection came free
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # starting up, shutting down
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
)


#: Errors that mean "the database refuses these rows" (a constraint, a value too long …).
DATABASE_REFUSED: tuple[type[BaseException], ...] = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.DataError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL cannot be reached (as opposed to a final it refuses)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return any(isinstance(e, DATABASE_DOWN) for e in _chain(exc))


class TranscriptWriter:
    """Writes batches of finals; returns only once they are committed (then the stage acknowledges)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle(self, batch: list[tuple[Entry, FinalRecord]]) -> None:
        """Write the batch; returns once committed.

        Raises:
            DependencyDown: the database is unreachable (see :func:`database_down`).
            BadEntry: the database refused the rows (integrity or data error).
        """
        try:
            await self._write(batch)
        except Exception as exc:
            if database_down(exc):
                raise DependencyDown(f"postgres: {exc!r}") from exc
            if any(isinstance(e, DATABASE_REFUSED) for e in _chain(exc)):
                raise BadEntry(f"postgres refused: {exc!r}") from exc
            raise

    async def _write(self, batch: list[tuple[Entry, FinalRecord]]) -> None:
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


async def run_persist(settings: Settings, redis: aioredis.Redis, db: Database, stop: asyncio.Event,
                      health: StageHealth | None = None) -> None:
    """Consume ``finals`` as a member of ``persist`` until ``stop`` is set.

    ``health`` (optional) follows the consume loop, for a readiness check. An unexpected error ends
    the loop; it is logged and the loop starts again after a back-off.
    """
    # ``finals`` is read by persist and tts: a final goes once every group has consumed it; one not
    # yet stored stays pending, and kept, through a database outage.
    consumer = Consumer(redis, FINALS_STREAM, PERSIST_GROUP, f"gateway-{consumer_name(settings)}",
                        claim_idle_ms=settings.bus_claim_idle_ms, trim_consumed=True)
    health = health or StageHealth(consumer.block_ms / 1000, handler_stall_s=settings.bus_handler_stall_s)
    backoff = Backoff()
    writer = TranscriptWriter(db)
    while not stop.is_set():
        try:
            await run_stage(consumer, FinalRecord, writer.handle, batch_size=BATCH_SIZE, stop=stop, health=health)
        except Exception:
            log.exception("persist.consume_loop_died")
            await backoff.wait(stop)
