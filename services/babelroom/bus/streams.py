"""Redis Streams with consumer groups: the bus between ingest, STT, MT and delivery.

Guarantees:
- At-least-once delivery: an entry stays in the group's pending list (PEL) until acknowledged, and a
  live consumer reclaims entries idle longer than ``claim_idle_ms`` (XAUTOCLAIM), so a stage that dies
  mid-message loses nothing.
- Bounded memory: every XADD trims approximately to ``maxlen``.
- Overload: :class:`Publisher` sheds *partial* messages when the consumer group's backlog exceeds
  ``overload_depth``; finals are never shed.

Source: https://redis.io/docs/latest/develop/data-types/streams/ (XREADGROUP, XAUTOCLAIM, XINFO GROUPS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from babelroom import metrics
from babelroom.bus.schemas import Message, Notice, SpeechAudio
from babelroom.config import Settings

# XRANGE and XREAD(GROUP) replies of an asyncio client with ``decode_responses=False``, as every
# client of the bus is; redis-py types them as unions over every protocol and decoding mode.
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]
StreamsReply = list[tuple[bytes, StreamEntries]]

log = structlog.get_logger(__name__)

AUDIO_STREAM = "audio"
TRANSCRIPT_STREAM = "transcripts"
FINALS_STREAM = "finals"
STT_GROUP = "stt"
MT_GROUP = "mt"
PERSIST_GROUP = "persist"
TTS_GROUP = "tts"


#: Approximate MAXLEN of every dead-letter stream (entries).
DEAD_LETTER_MAXLEN = 10_000


def dead_letter_stream(stream: str) -> str:
    """Where entries of ``stream`` that can never be processed are kept: ``<stream>:dead``.

    Each dead letter holds the entry's original fields plus ``dead_reason``, ``dead_id`` (the
    original entry id), ``dead_group`` and ``dead_consumer``.
    """
    return f"{stream}:dead"


def captions_stream(room: str) -> str:
    """The per-room stream of final captions (all target languages), kept for ``since=`` replay."""
    return f"captions:{room}"


def tts_stream(room: str) -> str:
    """The per-room stream of translated speech (:class:`~babelroom.bus.schemas.SpeechAudio`), every language."""
    return f"tts:{room}"


def partial_captions_stream(room: str) -> str:
    """The per-room side stream of ephemeral captions (partials and retractions, all target languages).

    Short (``captions_partial_maxlen`` entries) and short-lived (``captions_partial_ttl_s``): only live
    listeners need them, so they do not fill :func:`captions_stream`, which holds the finals for replay.
    """
    return f"captions:{room}:partial"


def cut_key(segment_id: str) -> str:
    """Redis key holding the cut (ms in the speaker's timeline) STT found in ``segment_id``: where the
    ingest ends that segment (:mod:`babelroom.stt.sentences`)."""
    return f"stt:cut:{segment_id}"


def sentence_end_key(segment_id: str) -> str:
    """Redis key holding the speech end (ms in the speaker's timeline) through which STT's latest
    hypothesis of ``segment_id`` ends a sentence: the ingest may end that segment early
    (:meth:`babelroom.audio.segmenter.Segmenter.end_sentence`)."""
    return f"stt:end:{segment_id}"


def notices_stream(room: str) -> str:
    """The per-room stream of room events (:class:`~babelroom.bus.schemas.Notice`)."""
    return f"notices:{room}"


NOTICES_MAXLEN = 100
NOTICES_TTL_S = 24 * 3600


async def publish_notice(redis: aioredis.Redis, notice: Notice) -> None:
    """Add ``notice`` to its room's stream (kept a day, at most ~100 entries): the room manager's events
    and the workers' (``speakers_updated``) reach every socket of the room this way."""
    stream = notices_stream(notice.room)
    await redis.xadd(stream, notice.to_fields(), maxlen=NOTICES_MAXLEN, approximate=True)
    await redis.expire(stream, NOTICES_TTL_S)


async def publish_speech(redis: aioredis.Redis, settings: Settings, speech: SpeechAudio,
                         done_key: str | None = None, done_ttl_s: int = 24 * 3600) -> None:
    """Add ``speech`` to its room's ``tts:{room}`` stream (trimmed to ``tts_stream_maxlen``, kept
    ``captions_retention_s``), and set ``done_key`` in the same transaction when given."""
    stream = tts_stream(speech.room)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(stream, speech.to_fields(), maxlen=settings.tts_stream_maxlen, approximate=True)
        pipe.expire(stream, settings.captions_retention_s)
        if done_key is not None:
            pipe.set(done_key, 1, ex=done_ttl_s)
        await pipe.execute()


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create ``group`` on ``stream`` (and the stream) if missing, starting from the beginning."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def group_backlog(redis: aioredis.Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` the group has not yet read (``lag``) plus those read but not acked.

    Uses XINFO GROUPS (``lag`` needs Redis ≥ 7) and XLEN. Returns 0 when the group does not exist yet.

    ``lag`` is Redis's ``entries-added`` minus the group's ``entries-read`` counter, and that counter
    can fall behind for good: replaying the append-only file after a restart re-adds the entries but
    moves the group on with ``XCLAIM … LASTID``, which leaves ``entries-read`` where the file's base
    had it (Redis 7.0.15). The bench's Redis, kept across its runs, so reported a lag of 457 on an
    empty ``audio`` stream, and the ingest shed every partial as overload. Unread entries are in the
    stream, so the lag counted is at most XLEN.
    """
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0
    for info in groups:
        name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
        if name == group:
            unread = min(int(info.get("lag") or 0), await redis.xlen(stream))
            return unread + int(info.get("pending") or 0)
    return 0


#: The consumer group that reads each stage's output stream.
READER_GROUP = {AUDIO_STREAM: STT_GROUP, TRANSCRIPT_STREAM: MT_GROUP, FINALS_STREAM: PERSIST_GROUP}


class Publisher:
    """Adds messages to one stream, trimming it and shedding partials under overload.

    Args:
        redis: an asyncio Redis client (``decode_responses=False``).
        stream: the stream name.
        group: the consumer group whose backlog decides overload.
        maxlen: approximate MAXLEN applied on every XADD (entries).
        overload_depth: backlog (entries) above which partials are shed.
        depth_ttl_s: how long a measured backlog is reused before XINFO is asked again (s).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        group: str,
        *,
        maxlen: int,
        overload_depth: int,
        depth_ttl_s: float = 0.25,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.maxlen = maxlen
        self.overload_depth = overload_depth
        self.depth_ttl_s = depth_ttl_s
        self._depth = 0
        self._depth_at = 0.0

    @classmethod
    def for_stream(cls, redis: aioredis.Redis, stream: str, settings: Settings) -> Publisher:
        """The publisher of a stage's output ``stream`` (``audio`` or ``transcripts``), sized by settings."""
        return cls(
            redis,
            stream,
            READER_GROUP[stream],
            maxlen=settings.bus_maxlen,
            overload_depth=settings.bus_overload_depth,
        )

    async def depth(self) -> int:
        """The group's backlog, cached for ``depth_ttl_s``; also exported as a gauge."""
        now = time.monotonic()
        if now - self._depth_at > self.depth_ttl_s:
            self._depth = await group_backlog(self.redis, self.stream, self.group)
            self._depth_at = now
            metrics.BUS_QUEUE_DEPTH.labels(self.stream).set(self._depth)
        return self._depth

    async def publish(self, msg: Message, *, droppable: bool = False) -> str | None:
        """XADD ``msg``; returns its entry id, or None when a droppable message was shed."""
        if droppable and await self.depth() > self.overload_depth:
            metrics.BUS_DROPPED.labels(self.stream, getattr(msg, "kind", "?"), "overload").inc()
            return None
        entry_id = await self.redis.xadd(
            self.stream, msg.to_fields(), maxlen=self.maxlen, approximate=True
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


@dataclass(frozen=True)
class Entry:
    """One stream entry handed to a consumer."""

    id: str
    fields: dict[bytes, bytes]
    reclaimed: bool = False


class Consumer:
    """One member of a consumer group: reads new entries, reclaims stale pending ones, acks.

    Args:
        redis: an asyncio Redis client (``decode_responses=False``).
        stream, group: where to read.
        name: this consumer's unique name within the group (e.g. host + pid).
        claim_idle_ms: pending entries idle at least this long are taken over (ms).
        block_ms: how long XREADGROUP blocks waiting for new entries (ms).
        delete_acked: also XDEL each entry it acknowledges. Only for a stream that this one group
            reads (``audio``, ``transcripts``: they would otherwise stay in Redis until MAXLEN trims
            them).
        trim_consumed: after acknowledging, trim the stream below what *every* group has consumed
            (:func:`trim_consumed`: three more round trips per group). For a stream that several
            groups read (``finals``: persist and tts), where one group's XDEL would take entries
            from the others.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        group: str,
        name: str,
        *,
        claim_idle_ms: int,
        block_ms: int = 1000,
        delete_acked: bool = False,
        trim_consumed: bool = False,
    ) -> None:
        if delete_acked and trim_consumed:
            raise ValueError("delete_acked and trim_consumed are exclusive")
        self.redis = redis
        self.delete_acked = delete_acked
        self.trim_consumed = trim_consumed
        self.stream = stream
        self.group = group
        self.name = name
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self._claim_cursor = "0-0"

    async def start(self) -> None:
        """Create the group (and the stream) if needed; restart the reclaim scan from the beginning."""
        await ensure_group(self.redis, self.stream, self.group)
        self._claim_cursor = "0-0"

    async def reclaim(self, count: int = 10) -> list[Entry]:
        """Take over entries other consumers left pending longer than ``claim_idle_ms`` (XAUTOCLAIM)."""
        cursor, claimed, *_ = await self.redis.xautoclaim(
            self.stream,
            self.group,
            self.name,
            min_idle_time=self.claim_idle_ms,
            start_id=self._claim_cursor,
            count=count,
        )
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
        entries = [
            Entry(_id(entry_id), fields, reclaimed=True)
            for entry_id, fields in claimed
            if fields is not None  # deleted by trimming while pending
        ]
        if entries:
            metrics.BUS_RECLAIMED.labels(self.stream).inc(len(entries))
            log.warning("bus.reclaimed", stream=self.stream, count=len(entries), consumer=self.name)
        return entries

    async def read(self, count: int = 1) -> list[Entry]:
        """Reclaimed entries first, else up to ``count`` new entries (blocking up to ``block_ms``)."""
        entries = await self.reclaim(count)
        if entries:
            return entries
        response = cast(StreamsReply, await self.redis.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=count, block=self.block_ms
        ))
        return [Entry(_id(entry_id), fields) for _, items in response or [] for entry_id, fields in items]

    async def ack(self, *entry_ids: str) -> None:
        """Acknowledge (XACK) processed entries, and XDEL them too with ``delete_acked``."""
        if not entry_ids:
            return
        if not self.delete_acked:
            await self.redis.xack(self.stream, self.group, *entry_ids)
            if self.trim_consumed:
                await trim_consumed(self.redis, self.stream)
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *entry_ids)
            pipe.xdel(self.stream, *entry_ids)
            await pipe.execute()

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """Copy ``entry`` to :func:`dead_letter_stream` with ``reason``, then acknowledge it (one MULTI)."""
        fields: dict[FieldT, EncodableT] = {
            **cast(dict[FieldT, EncodableT], entry.fields),
            b"dead_reason": reason.encode(),
            b"dead_id": entry.id.encode(),
            b"dead_group": self.group.encode(),
            b"dead_consumer": self.name.encode(),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(dead_letter_stream(self.stream), fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
            pipe.xack(self.stream, self.group, entry.id)
            if self.delete_acked:
                pipe.xdel(self.stream, entry.id)
            await pipe.execute()

    async def keep_pending(self, *entry_ids: str) -> None:
        """Reset the idle time of entries this consumer holds (XCLAIM … JUSTID), so no other member
        reclaims them; their delivery count does not grow."""
        if entry_ids:
            await self.redis.xclaim(self.stream, self.group, self.name, 0, list(entry_ids), justid=True)


async def trim_consumed(redis: aioredis.Redis, stream: str) -> int:
    """Delete the entries of ``stream`` that every consumer group has consumed (XTRIM MINID).

    For each group (XINFO GROUPS) the first entry it still needs is its oldest pending entry
    (XPENDING summary), or else the one after its last-delivered id; the stream is trimmed below
    the smallest of these. A group that stopped reading therefore holds the stream back (MAXLEN
    still bounds it), and an entry a group has not yet read or acknowledged is never removed.

    Returns:
        how many entries were removed; 0 when the stream has no group.
    """
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return 0
    needed = []
    for group in groups:
        pending = await redis.xpending(stream, group["name"])
        if pending["pending"]:
            needed.append(_stream_id(pending["min"]))
        else:
            ms, seq = _stream_id(group["last-delivered-id"])
            needed.append((ms, seq + 1))
    ms, seq = min(needed)
    return await redis.xtrim(stream, minid=f"{ms}-{seq}", approximate=False)


def _stream_id(entry_id: bytes | str) -> tuple[int, int]:
    ms, seq = _id(entry_id).split("-")
    return int(ms), int(seq)


def _id(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
