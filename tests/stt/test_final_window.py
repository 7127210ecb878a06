"""The encoder window of finals: ``stt_final_window_s`` (default ``stt_window_s``, 15 s), and the second
decode on Whisper's native 30 s window of a final that loops.

Clip: ``tests/data/speech-multi/es_picovoice-cheetah-v2.3_test_es.wav`` (Picovoice, Apache-2.0; see that
folder's ``ATTRIBUTION.md``): "Un homenaje a Cabré era más que necesario." Greedy Whisper base loops on it
at 15 s ("Uno de las las las …", compression ratio 11.5).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.whisper import WhisperSTT

CLIP = Path(__file__).resolve().parents[1] / "data" / "speech-multi" / "es_picovoice-cheetah-v2.3_test_es.wav"


def fallbacks() -> float:
    return REGISTRY.get_sample_value("babelroom_stt_window_fallbacks_total") or 0.0


def test_finals_take_the_partial_window_unless_set(whisper, whisper_base):
    engine, settings = whisper_base
    for model in (whisper, engine):
        assert (model.window_frames, model.final_window_frames, model.native_window_frames) == (1500, 1500, 3000)
    wide = WhisperSTT(settings.model_copy(update={"stt_final_window_s": 30.0}))
    assert (wide.window_frames, wide.final_window_frames) == (1500, 3000)


def test_a_final_window_shorter_than_a_segment_is_refused():
    with pytest.raises(ValueError, match="vad_max_segment_s=15.0 must not exceed stt_final_window_s=14.0"):
        Settings(stt_final_window_s=14.0)
    with pytest.raises(ValueError, match="less than or equal to 30"):
        Settings(stt_final_window_s=31.0)


def test_a_final_that_loops_is_decoded_again_on_the_native_window(whisper_base):
    """The partial (15 s) loops and the filter drops it; the final loops at 15 s too, is decoded once more on
    30 s, reads the sentence's end ("… necesaria.") and is kept."""
    engine, settings = whisper_base
    audio, keep = decode_file(CLIP), HallucinationFilter(settings)
    partial = engine.transcribe(audio, "es")
    before = fallbacks()
    final = engine.transcribe(audio, "es", final=True)
    assert keep.check(partial) == "compression", partial
    assert keep.check(final) is None and "necesari" in final.text, final
    assert fallbacks() == before + 1


def test_a_final_that_does_not_loop_is_decoded_once(whisper, clips):
    before = fallbacks()
    final = whisper.transcribe(clips["jfk.flac"].audio, "en", final=True)
    assert "country" in final.text and fallbacks() == before
