"""A long sentence is spoken in clause-sized chunks, each published as soon as it is ready; and a
latency budget ranks slow voices below fast ones. Real synthesis (eSpeak NG, Kokoro, Piper), real Redis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from tests.tts.test_worker import HEADER, _run

from babelroom.bus.schemas import FinalRecord, SpeechAudio, Translation, now_ms
from babelroom.bus.streams import Entry, tts_stream
from babelroom.captions import listeners
from babelroom.config import Settings
from babelroom.dev.tts_intelligibility import ntrex
from babelroom.tts.base import Speech
from babelroom.tts.chunking import MIN_TAIL_CHARS, clauses
from babelroom.tts.codec import decode_audio
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.kokoro import KokoroTextToSpeech
from babelroom.tts.piper import PiperTextToSpeech
from babelroom.tts.worker import TtsStage, done_key

#: NTREX-128 dev line 2 in Spanish: 171 characters, about 11 s of speech.
LONG_ES = ntrex("es", 2)[1]


@pytest.mark.parametrize("language", ["en", "es", "pt"])
def test_ntrex_sentences_cut_at_clause_or_word_boundaries(language: str) -> None:
    for sentence in ntrex(language, 8):
        chunks = clauses(sentence, 40, 100)
        assert " ".join(chunks) == " ".join(sentence.split())  # nothing lost, nothing added
        assert len(chunks[0]) <= 40 + MIN_TAIL_CHARS or len(chunks) == 1
        assert all(len(chunk) <= 100 + MIN_TAIL_CHARS for chunk in chunks[1:])
        words = set(sentence.split())
        assert all(chunk.split()[0] in words and chunk.split()[-1] in words for chunk in chunks)  # no word cut


def test_clause_marks_are_preferred_and_zero_turns_chunking_off() -> None:
    text = "Buenos días a todos, gracias por venir; hoy hablamos del presupuesto del año que viene."
    assert clauses(text, 40, 100) == ["Buenos días a todos, gracias por venir;",
                                      "hoy hablamos del presupuesto del año que viene."]
    assert clauses(text, 25, 100)[0] == "Buenos días a todos,"
    assert clauses(text, 0, 100) == [text]
    assert clauses("  Hola.  ", 40, 100) == ["Hola."] and clauses("   ", 40, 100) == []


async def test_a_long_sentence_is_published_chunk_by_chunk(settings: Settings, aredis: aioredis.Redis,
                                                           wer_of: Callable[[Speech, str, str], float]) -> None:
    await listeners.register(aredis, "r", "es", "c1", mode="audio")
    t = now_ms()
    record = FinalRecord(
        **HEADER, segment_id="long", seq=1, room_seq=1, text="(English)",
        translations={"es": Translation(language="es", text=LONG_ES, backend="apertium")},
        timings={"mt_end": t},
    )
    before = REGISTRY.get_sample_value("babelroom_tts_first_audio_seconds_count", {"backend": "espeak"}) or 0
    out = await _run(settings, aredis, [record])
    expected = clauses(LONG_ES, settings.tts_first_chunk_chars, settings.tts_chunk_chars)
    assert len(expected) >= 3
    n = len(expected)
    assert [(s.segment_id, s.chunk, s.chunks) for s in out] == [("long", i, n) for i in range(n)]
    assert [s.chunk_text for s in out] == expected and all(s.translation.text == LONG_ES for s in out)
    assert [s.timings["tts_end"] for s in out] == sorted(s.timings["tts_end"] for s in out)
    assert len({s.timings["tts_start"] for s in out}) == 1
    heard = []
    for speech in out:  # each chunk is a whole Ogg Opus file of its own words
        samples, rate = decode_audio(speech.audio)
        assert abs(len(samples) / rate * 1000 - speech.duration_ms) < 100
        heard.append(Speech(samples, rate, "espeak", "es"))
    whole = Speech(np.concatenate([h.samples for h in heard]), 48_000, "espeak", "es")
    assert wer_of(whole, LONG_ES, "es") <= 0.6  # the chunks in order say the sentence (eSpeak NG es on NTREX: 0.47)
    assert await aredis.exists(done_key("r", "long", "es"))
    assert REGISTRY.get_sample_value("babelroom_tts_first_audio_seconds_count", {"backend": "espeak"}) == before + 1


async def test_the_first_chunk_is_out_before_the_rest_is_synthesised(
    settings: Settings, aredis: aioredis.Redis, tts_models_dir: Path,
) -> None:
    """With Kokoro, the first chunk's speech is published while later chunks are still being made:
    the listener's wait is the first chunk's synthesis, not the sentence's."""
    kokoro = KokoroTextToSpeech(tts_models_dir / "kokoro")
    await listeners.register(aredis, "r", "es", "c1", mode="audio")
    stage = TtsStage(settings, aredis, FallbackTextToSpeech([kokoro]))
    record = FinalRecord(
        **HEADER, segment_id="k", seq=1, room_seq=1, text="(English)",
        translations={"es": Translation(language="es", text=LONG_ES, backend="apertium")},
        timings={"mt_end": now_ms()},
    )
    await stage.handle([(Entry("1-0", {}), record)])
    out = [SpeechAudio.from_fields(fields) for _, fields in await aredis.xrange(tts_stream("r"))]
    assert len(out) >= 3 and all(s.tts_backend == "kokoro" for s in out)
    first, last = out[0].timings["tts_end"], out[-1].timings["tts_end"]
    start = out[0].timings["tts_start"]
    assert first - start < 0.6 * (last - start), (first - start, last - start)


def test_a_latency_budget_ranks_a_slow_voice_below_a_fast_one(tts_models_dir: Path) -> None:
    kokoro, piper, espeak = (KokoroTextToSpeech(tts_models_dir / "kokoro"), PiperTextToSpeech(tts_models_dir / "piper"),
                             EspeakTextToSpeech())
    try:
        by_clarity = FallbackTextToSpeech([espeak, piper, kokoro])
        assert [b.name for b in by_clarity.supporting("en")] == ["kokoro", "piper", "espeak"]
        in_budget = FallbackTextToSpeech([espeak, piper, kokoro], latency_budget_s=1.0, budget_chars=40)
        assert [b.name for b in in_budget.supporting("en")] == ["piper", "espeak", "kokoro"]
        assert [b.name for b in in_budget.supporting("es")] == ["espeak", "kokoro"]
        # a budget every voice meets changes nothing
        generous = FallbackTextToSpeech([espeak, piper, kokoro], latency_budget_s=30.0, budget_chars=40)
        assert [b.name for b in generous.supporting("en")] == ["kokoro", "piper", "espeak"]
        speech = in_budget.synthesize("Good morning, everyone.", "en")  # really spoken by the fast voice
        assert speech.backend == "piper" and speech.duration_s > 0.5
    finally:
        piper.close()
