"""The ``babelroom.xtts`` task (queue ``xtts``): a final re-spoken in its speaker's cloned voice.

Queued by the TTS worker after the quick voice, for speakers who may clone (:mod:`babelroom.voice.cloning`),
one job per (final, listener language). One run:

1. skips a final whose text is older than ``ws_speech_max_age_s`` (the gateway would drop its audio);
2. loads the XTTS checkpoint once per process (``models_dir/xtts_dir``, :class:`~babelroom.voice.xtts.XttsVoice`);
3. takes the sample's speaker latents from the disk cache beside the sample, else computes and stores them
   (:mod:`babelroom.voice.latents`);
4. synthesises the translation (24 kHz), encodes it as the quick voice is (Ogg Opus, :mod:`babelroom.tts.codec`)
   and publishes a :class:`~babelroom.bus.schemas.SpeechAudio` of type ``cloned_audio_ready`` to
   ``tts:{room}``, which the gateway forwards to the room's audio listeners of that language.

Run by ``babelroom xtts`` (solo pool: one job at a time). A job waiting longer than ``xtts_job_expires_s``
is dropped unrun by Celery. Any failure is logged and counted (``babelroom_xtts_jobs_total{outcome}``),
never raised: the listener simply keeps the quick voice.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
import structlog

from babelroom import metrics
from babelroom.bus.schemas import FinalRecord, SpeechAudio, now_ms
from babelroom.bus.streams import publish_speech
from babelroom.config import Settings, get_settings
from babelroom.jobs.app import app
from babelroom.tts.codec import OPUS_RATE, encode_ogg_opus
from babelroom.voice.cloning import XTTS_TASK
from babelroom.voice.latents import Latents, latents_path, load_latents, save_latents
from babelroom.voice.xtts import XTTS_RATE, XttsVoice

log = structlog.get_logger(__name__)

_voice: XttsVoice | None = None


def voice(settings: Settings) -> XttsVoice:
    """This process's XTTS model, loaded on first use.

    Raises:
        XttsUnavailable: no checkpoint under ``models_dir/xtts_dir``, or coqui-tts missing.
    """
    global _voice
    if _voice is None:
        _voice = XttsVoice(settings.models_dir / settings.xtts_dir, threads=settings.xtts_threads)
        log.info("xtts.loaded", model=str(_voice.directory), fingerprint=_voice.fingerprint,
                 languages=list(_voice.languages))
    return _voice


def speaker_latents(settings: Settings, model: XttsVoice, storage_path: str) -> Latents | None:
    """The latents of the stored sample ``storage_path`` (cached beside it); None when the sample is gone."""
    sample = settings.voice_sample_dir / storage_path
    try:
        path = latents_path(sample, model.fingerprint)
    except FileNotFoundError:
        return None
    cached = load_latents(path)
    if cached is not None:
        metrics.XTTS_LATENTS.labels("hit").inc()
        return cached
    metrics.XTTS_LATENTS.labels("miss").inc()
    latents = model.latents(sample.read_bytes())
    save_latents(path, latents)
    return latents


async def respeak_final(settings: Settings, redis: aioredis.Redis, final: FinalRecord, language: str,
                        sample_id: str, storage_path: str) -> str:
    """One run of the task (see the module docstring); returns its outcome."""
    translation = final.translations.get(language)
    t_final = final.timings.get("mt_end", now_ms())
    if translation is None or now_ms() - t_final > settings.ws_speech_max_age_s * 1000:
        return "stale"
    model = voice(settings)
    if not model.supports(language):
        return "no_language"
    start = now_ms()
    latents = await asyncio.to_thread(speaker_latents, settings, model, storage_path)
    if latents is None:
        return "no_sample"
    speech = await asyncio.to_thread(model.synthesize, translation.text, language, latents)
    metrics.XTTS_SYNTHESIS.observe(speech.compute_s)
    audio = await asyncio.to_thread(encode_ogg_opus, speech.samples, XTTS_RATE, settings.tts_opus_bitrate)
    message = SpeechAudio(
        **final.header(), type="cloned_audio_ready", room_seq=final.room_seq, translation=translation,
        sample_rate=OPUS_RATE, duration_ms=round(speech.duration_s * 1000), tts_backend="xtts",
        voice=f"clone:{sample_id}", audio=audio, timings={**final.timings, "tts_start": start, "tts_end": now_ms()},
    )
    await publish_speech(redis, settings, message)
    log.info("xtts.spoken", room=final.room, segment_id=final.segment_id, language=language,
             audio_s=round(speech.duration_s, 2), compute_s=round(speech.compute_s, 2))
    return "spoken"


async def _run(final_json: str, language: str, sample_id: str, storage_path: str) -> str:
    settings = get_settings()
    redis = aioredis.from_url(settings.redis_url)
    try:
        return await respeak_final(settings, redis, FinalRecord.model_validate_json(final_json), language,
                                   sample_id, storage_path)
    finally:
        await redis.aclose()


@app.task(name=XTTS_TASK)
def respeak(final_json: str, language: str, sample_id: str, storage_path: str) -> str:
    """The Celery task: ``final_json`` (a :class:`FinalRecord`) spoken in ``language`` in the voice of the
    sample ``sample_id`` (file ``storage_path`` under ``voice_sample_dir``); returns the outcome."""
    try:
        outcome = asyncio.run(_run(final_json, language, sample_id, storage_path))
    except Exception:  # the quick voice is already out: a cloned voice is best effort
        log.exception("xtts.failed", language=language, sample_id=sample_id)
        outcome = "failed"
    metrics.XTTS_JOBS.labels(outcome).inc()
    return outcome
