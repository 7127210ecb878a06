"""The encoder window of finals (``stt_final_window_s``): Whisper's native 30 s on multilingual models,
``stt_window_s`` (15 s) on English-only ones, and a setting that overrides both.

Clip: ``tests/data/speech-multi/es_picovoice-cheetah-v2.3_test_es.wav`` (Picovoice, Apache-2.0; see that
folder's ``ATTRIBUTION.md``): "Un homenaje a Cabré era más que necesario."
"""

from __future__ import annotations

from pathlib import Path

import pytest

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.whisper import WhisperSTT

CLIP = Path(__file__).resolve().parents[1] / "data" / "speech-multi" / "es_picovoice-cheetah-v2.3_test_es.wav"


def test_english_only_models_keep_the_partial_window_for_finals(whisper):
    assert whisper.english_only
    assert (whisper.window_s, whisper.final_window_s) == (15.0, 15.0)
    assert whisper.final_window_frames == whisper.window_frames == 1500


def test_multilingual_finals_use_whispers_native_window(whisper_base):
    engine, _ = whisper_base
    assert not engine.english_only
    assert (engine.window_frames, engine.final_window_frames) == (1500, 3000)


def test_the_setting_overrides_the_final_window_of_every_model(whisper_base):
    _, settings = whisper_base
    engine = WhisperSTT(settings.model_copy(update={"stt_final_window_s": 20.0}))
    assert (engine.window_frames, engine.final_window_frames) == (1500, 2000)


def test_a_final_window_shorter_than_a_segment_is_refused():
    with pytest.raises(ValueError, match="vad_max_segment_s=15.0 must not exceed stt_final_window_s=14.0"):
        Settings(stt_final_window_s=14.0)
    with pytest.raises(ValueError, match="less than or equal to 30"):
        Settings(stt_final_window_s=31.0)


def test_a_final_on_the_native_window_does_not_loop_where_the_partial_window_did(whisper_base):
    """Greedy Whisper base loops on this clip at 15 s ("Uno de las las las …", compression ratio 11.5),
    so the filter drops it; the final, on 30 s, reads it ("… necesaria.") and is kept."""
    engine, settings = whisper_base
    audio, keep = decode_file(CLIP), HallucinationFilter(settings)
    partial = engine.transcribe(audio, "es")
    final = engine.transcribe(audio, "es", final=True)
    assert keep.check(partial) == "compression", partial
    assert keep.check(final) is None and "necesari" in final.text, final
