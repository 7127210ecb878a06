"""The MT stage (``babelroom mt``): transcripts in, captions in every wanted language out.

Reads :class:`Transcript` from ``transcripts`` (consumer group ``mt``) and publishes one
:class:`Caption` per target language: finals to ``captions:{room}`` (for ``since=`` replay: those of
the last ``captions_replay_s``, trimmed by MINID; the saved transcript has the rest), partials and
retractions to the short side stream ``captions:{room}:partial`` (``captions_partial_maxlen`` entries,
expiring ``captions_partial_ttl_s`` after its last entry; only live listeners need them). The targets
are the languages the room's live listeners asked for, plus the source language itself (no MT needed). Sentences of one
batch that share a language pair are translated in one call. When every backend fails the caption
still goes out with the source text and ``backend="unavailable"``; when no installed backend or pivot
serves the pair at all, with ``backend="no_route"`` (no translation is installed): captions degrade,
never stop.

Finals get a room-wide ``room_seq``; assigning it is idempotent per segment, so a final redelivered
after a crash keeps its number (listeners de-duplicate by ``segment_id``). Each non-empty final is also
published once, with all its translations, as a :class:`FinalRecord` to ``finals`` (consumer group
``persist``, which writes the transcript history; a redelivered final is written once).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import redis.asyncio as aioredis
import structlog
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from babelroom import metrics
from babelroom.bus.counters import incr_above
from babelroom.bus.schemas import Caption, FinalRecord, Transcript, Translation, now_ms
from babelroom.bus.stage import BatchHandler, prioritise
from babelroom.bus.streams import (
    FINALS_STREAM,
    MT_GROUP,
    TRANSCRIPT_STREAM,
    Entry,
    Publisher,
    captions_stream,
    partial_captions_stream,
)
from babelroom.captions import listeners
from babelroom.config import Settings
from babelroom.mt.base import TranslationError, UnsupportedLanguagePair
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.factory import build_translator
from babelroom.runner import run_worker

log = structlog.get_logger(__name__)

#: How long a final keeps its room number for redelivery (s). A transcript entry is redelivered only while it
#: is pending: reclaimed after ``bus_claim_idle_ms`` (5 s), dead-lettered after 5 deliveries, so 10 min is
#: over 20 times that horizon. The keys were kept 24 h before: one per final, Redis grew by about
#: 6 kB per minute with 4 speakers for a whole day (the 30-minute soak's used_memory growth).
SEQ_TTL_S = 600
#: ``Translation.backend`` of a caption whose pair has no installed route: the source text, untranslated.
NO_ROUTE = "no_route"


async def assign_room_seq(redis: aioredis.Redis, room: str, segment_id: str, floor: int = 0) -> int:
    """The room-wide number of a final: a new one the first time, the same one on redelivery.

    ``floor``: the highest number this worker assigned in the room; a new number is above it even if
    Redis lost its counter (:func:`babelroom.bus.counters.incr_above`).
    """
    key = f"room:{room}:final:{segment_id}"
    existing = await redis.get(key)
    if existing is not None:
        return int(existing)
    candidate = await incr_above(redis, f"room:{room}:seq", floor)
    await redis.set(key, candidate, nx=True, ex=SEQ_TTL_S)
    return int(await redis.get(key) or candidate)  # the key outlives this call (ex=SEQ_TTL_S)


def replay_from(settings: Settings) -> str:
    """The oldest stream id a room's finals stream keeps: ``captions_replay_s`` ago (``"<ms>-0"``)."""
    return f"{int(now_ms()) - settings.captions_replay_s * 1000}-0"


class MtStage:
    """Translates a batch of transcripts into captions.

    Args:
        settings: the service settings (partials on/off, stream sizes …).
        redis: asyncio Redis client (bytes responses).
        translator: the cached fallback chain; blocking, so it runs in a worker thread.
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis, translator: CachedTranslator) -> None:
        self.settings = settings
        self.redis = redis
        self.translator = translator
        self.finals = Publisher.for_stream(redis, FINALS_STREAM, settings)
        self._room_seq_floor: dict[str, int] = {}  # the highest room_seq assigned per room

    async def handle(self, batch: list[tuple[Entry, Transcript]]) -> None:
        """Translate and publish every transcript of the batch (finals first)."""
        messages = [m for _, m in batch]
        if not self.settings.mt_translate_partials:
            messages = [m for m in messages if m.kind == "final"]
        messages = prioritise(
            messages, TRANSCRIPT_STREAM, max_age_ms=self.settings.bus_partial_max_age_ms, stamp="stt_end"
        )
        targets = {room: await listeners.languages(self.redis, room) for room in {m.room for m in messages}}
        jobs: dict[tuple[str, str], list[str]] = defaultdict(list)
        for m in messages:
            for lang in targets[m.room] - {m.language}:
                if m.text and m.text not in jobs[(m.language, lang)]:
                    jobs[(m.language, lang)].append(m.text)
        start = now_ms()
        results = await asyncio.gather(*(self._translate(texts, *pair) for pair, texts in jobs.items()))
        translated = dict(zip(jobs, results, strict=True))
        end = now_ms()
        for m in messages:
            await self._publish(m, targets[m.room], translated, start, end)

    async def _translate(self, texts: list[str], src: str, tgt: str) -> dict[str, Translation]:
        try:
            out, backends = await asyncio.to_thread(
                self.translator.translate_batch_with_backends, texts, src, tgt
            )
        except UnsupportedLanguagePair as exc:
            log.warning("mt.no_route", src=src, tgt=tgt, error=str(exc))
            out, backends = texts, [NO_ROUTE] * len(texts)
        except TranslationError as exc:
            log.error("mt.unavailable", src=src, tgt=tgt, error=str(exc))
            out, backends = texts, ["unavailable"] * len(texts)
        return {
            t: Translation(language=tgt, text=o, backend=b)
            for t, o, b in zip(texts, out, backends, strict=True)
        }

    async def _publish(
        self,
        m: Transcript,
        langs: set[str],
        translated: dict[tuple[str, str], dict[str, Translation]],
        mt_start: float,
        mt_end: float,
    ) -> None:
        if m.kind == "final" and not m.text:
            kind, room_seq = "retract", 0
        elif m.kind == "final":
            kind, room_seq = "final", await assign_room_seq(self.redis, m.room, m.segment_id,
                                                            self._room_seq_floor.get(m.room, 0))
            self._room_seq_floor[m.room] = max(room_seq, self._room_seq_floor.get(m.room, 0))
        else:
            kind, room_seq = "partial", 0
        timings = {**m.timings, "mt_start": mt_start, "mt_end": mt_end}
        settings = self.settings
        if kind == "final":
            stream, maxlen, ttl_s = captions_stream(m.room), settings.bus_maxlen, settings.captions_retention_s
        else:
            stream, maxlen, ttl_s = (partial_captions_stream(m.room), settings.captions_partial_maxlen,
                                     settings.captions_partial_ttl_s)
        translations: dict[str, Translation] = {}
        for lang in sorted(langs | {m.language}):
            if lang == m.language or not m.text:
                translation = Translation(language=lang, text=m.text, backend="source")
            else:
                translation = translated[(m.language, lang)][m.text]
            translations[lang] = translation
            caption = Caption(
                **m.header(),
                type=kind,
                room_seq=room_seq,
                text=m.text,
                translation=translation,
                avg_logprob=m.avg_logprob,
                timings=timings,
            )
            await self.redis.xadd(stream, caption.to_fields(), maxlen=maxlen, approximate=True)
        await self.redis.expire(stream, ttl_s)
        if kind == "final":
            await self.redis.xtrim(stream, minid=replay_from(settings), approximate=True)
            await self.finals.publish(
                FinalRecord(**m.header(), room_seq=room_seq, text=m.text, translations=translations,
                            avg_logprob=m.avg_logprob, timings=timings)
            )
        metrics.STAGE_LATENCY.labels("mt").observe((mt_end - mt_start) / 1000)


async def serve(settings: Settings) -> None:
    """``babelroom mt``: build the translator chain, then consume ``transcripts`` until SIGTERM."""
    redis = aioredis.from_url(settings.redis_url)

    async def load() -> BatchHandler[Transcript]:
        # The cache must never stall translation: no retries, short timeouts (it degrades to uncached).
        sync_redis = Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        translator = await asyncio.to_thread(build_translator, settings, sync_redis)
        return MtStage(settings, redis, translator).handle

    await run_worker(
        settings=settings,
        redis=redis,
        stream=TRANSCRIPT_STREAM,
        group=MT_GROUP,
        schema=Transcript,
        load=load,
        port=settings.mt_metrics_port,
        batch_size=settings.mt_batch_size,
        delete_acked=True,  # only the mt group reads transcripts: handled partials and finals go at once
    )
