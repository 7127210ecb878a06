"""The STT stage (``babelroom stt``): segment audio in, partial and final transcripts out.

Reads :class:`SegmentAudio` from the ``audio`` stream (consumer group ``stt``; N workers share it) and
publishes :class:`Transcript` to ``transcripts``. Handled audio entries are deleted (XACK + XDEL), so
Redis holds only the audio not yet transcribed. Within a batch finals go first and only the newest
partial of each segment is decoded. Partials are stabilised with LocalAgreement-2, whose state lives
in Redis so that consecutive partials of one segment may land on different workers. Stale partials
and partials of already-finished segments are dropped and counted; finals are never dropped.
Each segment is decoded by the model of its language (:class:`~babelroom.stt.per_language.PerLanguageSTT`);
a segment of a speaker who asked for ``auto`` carries the identified language onwards, flagged
``language_detected`` (:mod:`babelroom.stt.language_id`).

Every decode is prompted with the speaker's previous final text (its last ``stt_prompt_tokens``) and, in a room
with documents (Pro), their domain terms (:class:`babelroom.context.room_cache.RoomContext`), read in the
same MGET as the previous final; a room without documents decodes as before.
When a partial's committed words complete a sentence, the cut time (from word timestamps) goes to
:func:`babelroom.bus.streams.cut_key` for the ingest, which ends the segment there: finals are
sentences (see :mod:`babelroom.stt.sentences`). A segment ``sentence_word_cut_s`` long with no committed
sentence end is cut at a committed word gap instead. A partial whose hypothesis ends with a sentence
tells the ingest, under :func:`babelroom.bus.streams.sentence_end_key`, that the segment may end after a
shorter silence (with the early end on: ``vad_sentence_end_silence_ms``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import cast

import numpy as np
import redis.asyncio as aioredis
import structlog
from redis.typing import EncodableT

from babelroom import metrics
from babelroom.bus.schemas import SegmentAudio, Transcript, now_ms
from babelroom.bus.stage import BatchHandler, prioritise
from babelroom.bus.streams import (
    AUDIO_STREAM,
    STT_GROUP,
    TRANSCRIPT_STREAM,
    Entry,
    Publisher,
    cut_key,
    sentence_end_key,
)
from babelroom.config import Settings
from babelroom.context.room_cache import RoomContext
from babelroom.mt.routes import OFFERED_LANGUAGES
from babelroom.runner import run_worker
from babelroom.stt.base import Hypothesis, SpeechToText
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.language_id import AUTO, MIN_AUDIO_S, LanguageLocks
from babelroom.stt.local_agreement import LocalAgreement
from babelroom.stt.models import SERVED_MODELS_KEY
from babelroom.stt.overlap import strip_repeated_prefix
from babelroom.stt.per_language import PerLanguageSTT
from babelroom.stt.sentences import ends_with_sentence, has_sentence_end, segment_cut_s
from babelroom.stt.whisper import SAMPLE_RATE

log = structlog.get_logger(__name__)

STATE_TTL_S = 300
#: What a partial of an ``auto`` speaker whose language is not known yet decodes to: nothing to show.
UNDECIDED = Hypothesis(text="", avg_logprob=0.0, no_speech_prob=0.0, compression_ratio=0.0, audio_s=0.0,
                       inference_s=0.0)


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """s16le bytes → ``(n_samples,) float32`` in [-1, 1]."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class SttStage:
    """Turns segment audio into transcripts with one :class:`SpeechToText` engine.

    Args:
        settings: the service settings (partial age limit …).
        redis: asyncio Redis client (bytes responses).
        engine: the STT backend; called in a worker thread.
        hallucination_filter: decides which hypotheses are not speech.
        publisher: publishes to the ``transcripts`` stream.
        context: the rooms' document terms (None: decode without them).
    """

    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        engine: SpeechToText,
        hallucination_filter: HallucinationFilter,
        publisher: Publisher,
        context: RoomContext | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self.redis = redis
        self.engine = engine
        self.filter = hallucination_filter
        self.publisher = publisher
        self.language_locks = LanguageLocks(redis)

    async def handle(self, batch: list[tuple[Entry, SegmentAudio]]) -> None:
        """Process one batch read from the bus (see the module docstring for the order)."""
        for m in prioritise(
            [m for _, m in batch],
            AUDIO_STREAM,
            max_age_ms=self.settings.bus_partial_max_age_ms,
            stamp="published",
        ):
            await (self._final(m) if m.kind == "final" else self._partial(m))

    async def _decode(self, msg: SegmentAudio, audio: np.ndarray, word_timestamps: bool = False) -> Hypothesis:
        """Decode the segment (``audio``: its PCM as ``(n,) float32``), prompted with the speaker's previous
        final and the room's document terms (one MGET); a continuation loses the words repeated from its cut
        predecessor (and their times)."""
        if msg.language == AUTO:
            await self._identify(msg, audio)
            if msg.language == AUTO:
                return UNDECIDED
        context_keys = self.context.keys(msg.room) if self.context is not None else ()
        values = cast(list[bytes | None], await self.redis.mget(_last_final_key(msg), *context_keys))
        previous = values[0].decode() if values[0] else None  # decode_responses=False
        terms = self.context.pick(msg.room, previous, *values[1:]) if self.context is not None else []
        # Finals only make sure the prompt did not make Whisper skip their first words (stt/prompt_skip.py):
        # it costs a decoder pass, and partials stay as fast as they were.
        hyp = await asyncio.to_thread(self.engine.transcribe, audio, msg.language, previous, word_timestamps, terms,
                                      msg.kind == "final")
        metrics.STT_INFERENCE.labels(msg.kind).observe(hyp.inference_s)
        metrics.STT_AUDIO_SECONDS.labels(msg.kind).inc(hyp.audio_s)
        metrics.STAGE_LATENCY.labels(f"stt_{msg.kind}").observe(hyp.inference_s)
        if msg.overlap_ms and hyp.text and previous:
            text = strip_repeated_prefix(previous, hyp.text)
            removed = len(hyp.text.split()) - len(text.split())
            hyp = dataclasses.replace(hyp, text=text, words=hyp.words[removed:])
        return hyp

    async def _identify(self, msg: SegmentAudio, audio: np.ndarray | None) -> None:
        """Set ``msg.language`` (and ``language_detected``) for a speaker of ``auto``: the locked language,
        else (with ``audio``) the one identified on this segment; without either it stays ``auto``, as for
        a partial shorter than ``MIN_AUDIO_S`` (too short to tell: mostly taken for English; not shown)."""
        language = await self.language_locks.locked(msg.room, msg.speaker)
        short_partial = audio is not None and msg.kind == "partial" and audio.size / SAMPLE_RATE < MIN_AUDIO_S
        if language is None and audio is not None and not short_partial:
            found, probability = await asyncio.to_thread(self.engine.identify_language, audio, OFFERED_LANGUAGES)
            locked = await self.language_locks.observe(msg.room, msg.speaker, msg.segment_id, found, probability,
                                                       audio.size / SAMPLE_RATE)
            language = locked or found
            log.info("stt.language_identified", room=msg.room, speaker=msg.speaker, segment=msg.segment_id,
                     kind=msg.kind, language=found, probability=round(probability, 3), locked=locked)
        if language is not None:
            msg.language, msg.language_detected = language, True

    async def _partial(self, msg: SegmentAudio) -> None:
        if await self.redis.exists(f"stt:done:{msg.segment_id}"):
            metrics.BUS_DROPPED.labels(AUDIO_STREAM, "partial", "superseded").inc()
            return
        timings = {**msg.timings, "stt_start": now_ms()}
        key = f"stt:la:{msg.segment_id}"
        state = await self.redis.get(key)
        agreement = LocalAgreement.from_state(json.loads(state)) if state else LocalAgreement()
        # A sentence end can be committed only if the previous hypothesis had one too: only then align,
        # or when the segment is long enough for the word-gap fallback.
        audio_s = len(msg.pcm) / 2 / SAMPLE_RATE
        long = audio_s >= self.settings.sentence_word_cut_s
        audio = pcm_to_float(msg.pcm)
        hyp = await self._decode(msg, audio, word_timestamps=long or has_sentence_end(agreement.previous or []))
        timings["stt_end"] = now_ms()
        if not hyp.text or self.filter.check(hyp) is not None:
            return
        words = hyp.text.split()
        committed, unstable = agreement.update(words)
        await self.redis.set(key, json.dumps(agreement.state()), ex=STATE_TTL_S)
        cut_s = segment_cut_s(words, len(words) - len(unstable), hyp.words, audio, self.settings.sentence_word_cut_s)
        if cut_s is not None:
            cut_ms = msg.audio_start_ms + round(cut_s * 1000)
            await self.redis.set(cut_key(msg.segment_id), cut_ms, nx=True, ex=STATE_TTL_S)
        if self.settings.vad_sentence_end_silence_ms is not None and ends_with_sentence(words):
            await self.redis.set(sentence_end_key(msg.segment_id), msg.audio_end_ms, ex=STATE_TTL_S)
        await self.publisher.publish(
            Transcript(
                **msg.header(),
                kind="partial",
                revision=msg.revision,
                text=hyp.text,
                stable_text=" ".join(committed),
                avg_logprob=hyp.avg_logprob,
                no_speech_prob=hyp.no_speech_prob,
                timings=timings,
            ),
            droppable=True,
        )

    async def _final(self, msg: SegmentAudio) -> None:
        timings = {**msg.timings, "stt_start": now_ms()}
        text, dropped, hyp = "", msg.dropped, None
        if msg.language == AUTO and not (msg.pcm and not dropped):
            await self._identify(msg, None)
        if msg.pcm and not dropped:
            hyp = await self._decode(msg, pcm_to_float(msg.pcm))
            metrics.STT_AVG_LOGPROB.observe(hyp.avg_logprob)
            metrics.STT_NO_SPEECH_PROB.observe(hyp.no_speech_prob)
            dropped = "empty" if not hyp.text else self.filter.check(hyp, doubtful=msg.doubtful)
            text = "" if dropped else hyp.text
        timings["stt_end"] = now_ms()
        await self.publisher.publish(
            Transcript(
                **msg.header(),
                kind="final",
                text=text,
                avg_logprob=hyp.avg_logprob if hyp else None,
                no_speech_prob=hyp.no_speech_prob if hyp else None,
                dropped=dropped,
                timings=timings,
            )
        )
        if text:
            await self.redis.set(_last_final_key(msg), text, ex=STATE_TTL_S)
        await self.redis.set(f"stt:done:{msg.segment_id}", 1, ex=STATE_TTL_S)
        await self.redis.delete(f"stt:la:{msg.segment_id}")
        log.info(
            "stt.final",
            segment=msg.segment_id,
            text=text,
            dropped=dropped,
            ms=round(timings["stt_end"] - timings["stt_start"]),
        )


def _last_final_key(msg: SegmentAudio) -> str:
    return f"stt:last:{msg.room}:{msg.speaker}"


async def serve(settings: Settings) -> None:
    """``babelroom stt``: load the models, then consume ``audio`` until SIGTERM. ``/readyz`` lists the
    model serving each language (``models``)."""
    redis = aioredis.from_url(settings.redis_url)
    engines: list[PerLanguageSTT] = []

    async def load() -> BatchHandler[SegmentAudio]:
        engine = await asyncio.to_thread(PerLanguageSTT, settings)
        engines.append(engine)
        served: dict[EncodableT, EncodableT] = {language: name for language, name in engine.models().items()}
        await redis.hset(SERVED_MODELS_KEY, mapping=served)
        hallucination_filter = HallucinationFilter(settings)
        publisher = Publisher.for_stream(redis, TRANSCRIPT_STREAM, settings)
        return SttStage(settings, redis, engine, hallucination_filter, publisher, RoomContext(settings, redis)).handle

    await run_worker(
        settings=settings,
        redis=redis,
        stream=AUDIO_STREAM,
        group=STT_GROUP,
        schema=SegmentAudio,
        load=load,
        port=settings.stt_metrics_port,
        batch_size=8,
        delete_acked=True,  # only the stt group reads audio: its PCM goes as soon as it is handled
        describe=lambda: {"models": engines[0].models() if engines else None},
    )
