"""The TTS worker end to end on a real Redis: a translated final in ``finals``, speech out in
``tts:{room}`` for the languages some audio listener asked for, once per (segment, language)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from babelroom.bus.schemas import FinalRecord, SpeechAudio, Translation, now_ms
from babelroom.bus.stage import run_stage
from babelroom.bus.streams import FINALS_STREAM, TTS_GROUP, Consumer, Publisher, tts_stream
from babelroom.captions import listeners
from babelroom.config import Settings
from babelroom.tts.codec import decode_audio
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.worker import TtsStage

HEADER = dict(room="r", speaker="u1", speaker_name="Ana", language="en", audio_start_ms=0, audio_end_ms=1500)


def final(segment_id: str, room_seq: int, es: str = "Buenos días a todos.", *, age_s: float = 0.5,
          es_backend: str = "apertium") -> FinalRecord:
    t = now_ms() - age_s * 1000
    return FinalRecord(
        **HEADER, segment_id=segment_id, seq=room_seq, room_seq=room_seq, text="Good morning, everyone.",
        translations={
            "en": Translation(language="en", text="Good morning, everyone.", backend="source"),
            "es": Translation(language="es", text=es, backend=es_backend),
            "pt": Translation(language="pt", text="Bom dia a todos.", backend="apertium>es>apertium"),
        },
        timings={"segment_end": t - 900, "mt_start": t - 50, "mt_end": t},
    )


def cache(result: str) -> float:
    return REGISTRY.get_sample_value("babelroom_tts_cache_total", {"result": result}) or 0.0


async def _run(settings: Settings, client: aioredis.Redis, finals: list[FinalRecord]) -> list[SpeechAudio]:
    """Publish ``finals`` as MT does, consume them with the real stage loop, return ``tts:r``."""
    publisher = Publisher.for_stream(client, FINALS_STREAM, settings)
    for record in finals:
        await publisher.publish(record)
    stage = TtsStage(settings, client, FallbackTextToSpeech([EspeakTextToSpeech()]))
    consumer = Consumer(client, FINALS_STREAM, TTS_GROUP, "tts-test", claim_idle_ms=5000, block_ms=100)
    stop = asyncio.Event()
    loop = asyncio.create_task(run_stage(consumer, FinalRecord, stage.handle, batch_size=4, stop=stop))
    for _ in range(100):
        info = {g["name"]: g for g in await client.xinfo_groups(FINALS_STREAM)}
        if info.get(TTS_GROUP.encode(), {}).get("lag") == 0 and info[TTS_GROUP.encode()]["pending"] == 0:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await loop
    return [SpeechAudio.from_fields(fields) for _, fields in await client.xrange(tts_stream("r"))]


async def test_speech_only_for_requested_languages_once_per_segment(settings: Settings, aredis: aioredis.Redis) -> None:
    await listeners.register(aredis, "r", "es", "c1", mode="audio")
    await listeners.register(aredis, "r", "en", "c2", mode="audio")  # the speaker's language: hears Ana
    await listeners.register(aredis, "r", "pt", "c3")  # captions only
    misses, hits = cache("miss"), cache("hit")
    out = await _run(settings, aredis, [final("s1", 1)])
    assert len(out) == 1
    (speech,) = out
    assert (speech.segment_id, speech.room_seq, speech.translation.language) == ("s1", 1, "es")
    assert speech.translation.text == "Buenos días a todos." and speech.codec == "opus"
    assert (speech.tts_backend, speech.voice, speech.cached) == ("espeak", "es", False)
    samples, rate = decode_audio(speech.audio)
    assert rate == 48_000 and abs(len(samples) / rate * 1000 - speech.duration_ms) < 100
    assert speech.timings["mt_end"] <= speech.timings["tts_start"] <= speech.timings["tts_end"]
    assert cache("miss") == misses + 1 and cache("hit") == hits

    # the same final again (redelivered): nothing new; the same text in a new segment: from the cache
    out = await _run(settings, aredis, [final("s1", 1), final("s2", 2)])
    assert [(s.segment_id, s.cached) for s in out] == [("s1", False), ("s2", True)]
    assert out[1].audio == out[0].audio and cache("hit") == hits + 1


async def test_untranslated_stale_and_unheard_finals_are_not_spoken(settings: Settings,
                                                                     aredis: aioredis.Redis) -> None:
    await listeners.register(aredis, "r", "es", "c1", mode="audio")
    skipped = {r: REGISTRY.get_sample_value("babelroom_tts_skipped_total", {"reason": r}) or 0
               for r in ("untranslated", "stale")}
    out = await _run(settings, aredis, [
        final("s1", 1, es="Good morning, everyone.", es_backend="unavailable"),
        final("s2", 2, age_s=settings.tts_max_age_s + 5),
    ])
    assert out == []
    for reason in skipped:
        assert REGISTRY.get_sample_value("babelroom_tts_skipped_total", {"reason": reason}) == skipped[reason] + 1
    await listeners.unregister(aredis, "r", "es", "c1", mode="audio")
    assert await _run(settings, aredis, [final("s3", 3)]) == []


async def test_mt_translates_for_audio_listeners_too(aredis: aioredis.Redis) -> None:
    await listeners.register(aredis, "r", "es", "c1", mode="audio")
    await listeners.register(aredis, "r", "pt", "c2")
    assert await listeners.languages(aredis, "r") == {"es", "pt"}
    assert await listeners.languages(aredis, "r", mode="audio") == {"es"}
    assert await listeners.languages(aredis, "r", mode="captions") == {"pt"}
