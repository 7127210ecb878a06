"""The TTS stage (``babelroom tts``): finals in, translated speech out, for the languages that some
listener asked to hear.

Reads :class:`FinalRecord` from ``finals`` (its own consumer group ``tts``, beside ``persist``). For each
final and each language of the room's audio listeners (:func:`babelroom.captions.listeners.languages`,
mode ``audio``) it speaks the translation once and publishes one :class:`SpeechAudio` (Ogg Opus) to
``tts:{room}``. Not spoken: the speaker's own language (those listeners hear the speaker), a
translation that failed (``unavailable``/``no_route``: the source text in the wrong voice would
mislead), a language with no voice, and a final older than ``tts_max_age_s`` (a backlog after a
restart: the listener has moved on). ``TTS_SKIPPED{reason}`` counts each.

Cloned voice (``xtts_enabled``): once a (final, language)'s quick voice is published, the final is offered
to the xtts worker (:class:`babelroom.voice.cloning.CloneQueue`: a Celery job when the speaker's tier has
``voice_clone`` and they have a voice sample), which publishes a ``cloned_audio_ready`` later. The quick
voice never waits for it, and nothing here fails when cloning does.

A sentence longer than ``tts_first_chunk_chars`` is spoken in clause-sized chunks
(:mod:`babelroom.tts.chunking`), each published as soon as it is ready (``chunk``/``chunks`` of
:class:`SpeechAudio`), so the listener starts hearing it after the first chunk's synthesis, not the
whole sentence's; ``TTS_FIRST_AUDIO`` measures t_final → first chunk published.

Once per (segment, language): a redelivered final finds ``tts:done:{room}:{segment_id}:{lang}`` and is
not spoken again. Cache (per chunk): ``tts:{backend}:{voice}:{lang}:{sha1 of the normalised text}``, a hash of the
Opus audio and its description, for ``tts_cache_ttl_s``; looked up under the first-choice voice of the
language, stored under the voice that spoke (as :mod:`babelroom.mt.cache` does). A Redis failure of the
cache costs the cache only.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from babelroom import metrics
from babelroom.bus.schemas import FinalRecord, SpeechAudio, Translation, now_ms
from babelroom.bus.stage import BatchHandler
from babelroom.bus.streams import FINALS_STREAM, TTS_GROUP, Entry, publish_speech
from babelroom.captions import listeners
from babelroom.config import Settings
from babelroom.db.session import Database
from babelroom.mt.cache import normalise
from babelroom.runner import run_worker
from babelroom.tts.base import SpeechError, UnsupportedLanguage
from babelroom.tts.chunking import clauses
from babelroom.tts.codec import OPUS_RATE, encode_ogg_opus
from babelroom.tts.factory import build_speech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.voice.cloning import CloneQueue

log = structlog.get_logger(__name__)

#: Translations not spoken: the source text stands in for them.
UNTRANSLATED = ("unavailable", "no_route")
DONE_TTL_S = 24 * 3600
P = ParamSpec("P")
T = TypeVar("T")


def cache_key(backend: str, voice: str, language: str, text: str) -> str:
    """``tts:{backend}:{voice}:{language}:{sha1 hex of the normalised text}``."""
    return f"tts:{backend}:{voice}:{language}:{hashlib.sha1(normalise(text).encode()).hexdigest()}"


def done_key(room: str, segment_id: str, language: str) -> str:
    """Set once the segment's speech in ``language`` is published."""
    return f"tts:done:{room}:{segment_id}:{language}"


@dataclass(frozen=True)
class Spoken:
    """Encoded speech of one text: Ogg Opus ``audio`` and how it was made."""

    audio: bytes
    backend: str
    voice: str
    duration_ms: int
    cached: bool


class TtsStage:
    """Speaks the finals of a batch.

    Args:
        settings: the service settings.
        redis: asyncio Redis client (bytes responses).
        speech: the fallback chain; blocking, so it runs in a worker thread.
        clones: where finals of speakers who may clone are offered for the cloned voice (None: nowhere).
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis, speech: FallbackTextToSpeech,
                 clones: CloneQueue | None = None) -> None:
        self.settings, self.redis, self.speech, self.clones = settings, redis, speech, clones

    async def handle(self, batch: list[tuple[Entry, FinalRecord]]) -> None:
        """Speak and publish every wanted (final, language) of the batch, in order."""
        wanted: dict[str, set[str]] = {}
        for _, final in batch:
            if final.room not in wanted:
                wanted[final.room] = await listeners.languages(self.redis, final.room, mode="audio")
            for language in sorted(wanted[final.room] - {final.language}):
                await self._speak_final(final, language)

    async def _speak_final(self, final: FinalRecord, language: str) -> None:
        translation = final.translations.get(language)
        t_final = final.timings.get("mt_end", now_ms())
        reason = None
        if translation is None:
            reason = "no_translation"  # the listener arrived after MT translated this final
        elif translation.backend in UNTRANSLATED or not translation.text.strip():
            reason = "untranslated"
        elif now_ms() - t_final > self.settings.tts_max_age_s * 1000:
            reason = "stale"
        elif await self.redis.exists(done_key(final.room, final.segment_id, language)):
            reason = "redelivered"
        if reason is not None or translation is None:
            metrics.TTS_SKIPPED.labels(reason).inc()
            return
        chunks = clauses(translation.text, self.settings.tts_first_chunk_chars, self.settings.tts_chunk_chars)
        tts_start = now_ms()
        for index, chunk in enumerate(chunks):
            try:
                spoken = await self._spoken(chunk, language)
            except UnsupportedLanguage:
                metrics.TTS_SKIPPED.labels("no_voice").inc()
                return
            except SpeechError as exc:
                log.error("tts.unavailable", room=final.room, segment_id=final.segment_id, language=language,
                          chunk=index, error=str(exc))
                metrics.TTS_SKIPPED.labels("failed").inc()
                return
            tts_end = now_ms()
            await self._publish(final, translation, spoken, {**final.timings, "tts_start": tts_start,
                                                             "tts_end": tts_end},
                                index, chunks)
            if index == 0:
                metrics.TTS_FIRST_AUDIO.labels(spoken.backend).observe((now_ms() - t_final) / 1000)
        metrics.STAGE_LATENCY.labels("tts").observe((now_ms() - tts_start) / 1000)
        if self.clones is not None:
            await self.clones.offer(final, language)

    async def _publish(self, final: FinalRecord, translation: Translation, spoken: Spoken,
                       timings: dict[str, float], index: int, chunks: list[str]) -> None:
        """One chunk's speech to ``tts:{room}``; the last chunk marks the (segment, language) done."""
        message = SpeechAudio(
            **final.header(), room_seq=final.room_seq, translation=translation, sample_rate=OPUS_RATE,
            duration_ms=spoken.duration_ms, tts_backend=spoken.backend, voice=spoken.voice, cached=spoken.cached,
            audio=spoken.audio, timings=timings, chunk=index, chunks=len(chunks),
            chunk_text=chunks[index] if len(chunks) > 1 else None,
        )
        last = index == len(chunks) - 1
        await publish_speech(self.redis, self.settings, message,
                             done_key(final.room, final.segment_id, translation.language) if last else None,
                             DONE_TTL_S)

    async def _spoken(self, text: str, language: str) -> Spoken:
        """The speech of ``text``: from the cache, else synthesised (and cached).

        Raises:
            UnsupportedLanguage: no voice for ``language``.
            SpeechError: every backend failed.
        """
        first = self.speech.supporting(language)
        if not first:
            raise UnsupportedLanguage(language)
        lookup = cache_key(first[0].name, first[0].voice(language) or "", language, text)
        found = cast(dict[bytes, bytes] | None, await self._cache(self.redis.hgetall, lookup))
        if found:
            metrics.TTS_CACHE.labels("hit").inc()
            return Spoken(found[b"audio"], found[b"backend"].decode(), found[b"voice"].decode(),
                          int(found[b"duration_ms"]), cached=True)
        metrics.TTS_CACHE.labels("miss").inc()
        speech = await asyncio.to_thread(self.speech.synthesize, text, language)
        metrics.TTS_SYNTHESIS.labels(speech.backend).observe(speech.compute_s)
        metrics.TTS_RTF.labels(speech.backend).observe(speech.rtf)
        metrics.TTS_AUDIO_SECONDS.labels(speech.backend).inc(speech.duration_s)
        audio = await asyncio.to_thread(encode_ogg_opus, speech.samples, speech.sample_rate,
                                        self.settings.tts_opus_bitrate)
        spoken = Spoken(audio, speech.backend, speech.voice, round(speech.duration_s * 1000), cached=False)
        key = cache_key(speech.backend, speech.voice, language, text)
        await self._cache(self._store, key, spoken)
        return spoken

    async def _store(self, key: str, spoken: Spoken) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"audio": spoken.audio, "backend": spoken.backend, "voice": spoken.voice,
                                    "duration_ms": spoken.duration_ms})
            pipe.expire(key, self.settings.tts_cache_ttl_s)
            await pipe.execute()

    async def _cache(self, op: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return await op(*args, **kwargs)
        except RedisError as exc:
            log.warning("tts.cache_unavailable", error=str(exc))
            return None


async def serve(settings: Settings) -> None:
    """``babelroom tts``: load the voices, then consume ``finals`` (group ``tts``) until SIGTERM; with
    ``xtts_enabled`` (and ``database_url``), also offer finals to the cloned voice."""
    redis = aioredis.from_url(settings.redis_url)

    clones = None
    if settings.xtts_enabled and settings.database_url:
        clones = CloneQueue(settings, redis, Database.from_settings(settings))
    elif settings.xtts_enabled:
        log.warning("tts.xtts_disabled", reason="xtts_enabled needs database_url (who may clone is looked up there)")

    async def load() -> BatchHandler[FinalRecord]:
        speech = await asyncio.to_thread(build_speech, settings)
        return TtsStage(settings, redis, speech, clones).handle

    await run_worker(
        settings=settings,
        redis=redis,
        stream=FINALS_STREAM,
        group=TTS_GROUP,
        schema=FinalRecord,
        load=load,
        port=settings.tts_metrics_port,
        batch_size=settings.tts_batch_size,
    )
