"""The fallback chain on real failures, the voice ranking, and the factory's choices."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from babelroom.config import Settings
from babelroom.startup import StartupError
from babelroom.tts import voices
from babelroom.tts.base import SpeechError, UnsupportedLanguage
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.factory import backend_names, build_speech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.kokoro import KokoroTextToSpeech
from babelroom.tts.piper import VOICES, PiperTextToSpeech


def _linked_piper(source: Path, target: Path) -> Path:
    """``target`` holding symlinks to the Piper voice files of ``source``."""
    target.mkdir()
    for file in source.iterdir():
        (target / file.name).symlink_to(file)
    return target


def test_a_piper_that_lost_its_model_falls_back_to_espeak(tts_models_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    piper = PiperTextToSpeech(_linked_piper(tts_models_dir / "piper", tmp_path / "piper"))
    chain = FallbackTextToSpeech([piper, EspeakTextToSpeech()])
    monkeypatch.setitem(voices.MEASURED, ("piper", "en"), voices.Measurement(0.0, 0.1, "test"))
    assert chain.synthesize("Good morning.", "en").backend == "piper"
    (tmp_path / "piper" / f"{VOICES['en']}.onnx").unlink()  # the model is gone …
    os.kill(piper._children["en"].pid, signal.SIGKILL)  # … and its process died: the restart fails
    before = REGISTRY.get_sample_value("babelroom_tts_fallback_total", {"backend": "piper"}) or 0
    speech = chain.synthesize("Good morning.", "en")
    assert speech.backend == "espeak" and speech.duration_s > 0.3
    assert REGISTRY.get_sample_value("babelroom_tts_fallback_total", {"backend": "piper"}) == before + 1
    chain.close()


def test_every_backend_failing_is_one_speech_error(tts_models_dir: Path, tmp_path: Path) -> None:
    piper = PiperTextToSpeech(_linked_piper(tts_models_dir / "piper", tmp_path / "piper"))
    (tmp_path / "piper" / f"{VOICES['en']}.onnx").unlink()
    os.kill(piper._children["en"].pid, signal.SIGKILL)
    chain = FallbackTextToSpeech([piper])
    with pytest.raises(SpeechError, match="every backend failed for en: piper: "):
        chain.synthesize("Good morning.", "en")
    with pytest.raises(UnsupportedLanguage):
        chain.synthesize("Guten Morgen.", "de")
    chain.close()


def test_each_language_takes_its_best_measured_voice(tts_models_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    chain = FallbackTextToSpeech([EspeakTextToSpeech(), PiperTextToSpeech(tts_models_dir / "piper"),
                                  KokoroTextToSpeech(tts_models_dir / "kokoro")])
    assert [b.name for b in chain.supporting("en")] == ["kokoro", "piper", "espeak"]  # WER .076 < .151 < .437
    assert [b.name for b in chain.supporting("pt")] == ["kokoro", "espeak"]
    assert [b.name for b in chain.supporting("vi")] == ["espeak"]  # unmeasured: the prior
    assert chain.voice("es") == "kokoro/jm_kumo"
    monkeypatch.setitem(voices.MEASURED, ("espeak", "en"), voices.Measurement(0.0, 0.01, "test"))
    assert chain.voice("en") == "espeak/en-us"
    chain.close()


def test_auto_uses_what_is_installed(settings: Settings, tts_models_dir: Path) -> None:
    assert backend_names(settings) == ["espeak"]  # an empty models_dir: eSpeak NG only, in development
    installed = settings.model_copy(update={"models_dir": tts_models_dir, "tts_gtts_url": "http://127.0.0.1:9"})
    assert backend_names(installed) == ["kokoro", "piper", "espeak", "gtts"]
    with pytest.raises(StartupError, match="kokoro-v1.0.int8.onnx"):
        backend_names(settings.model_copy(update={"environment": "production"}))
    with pytest.raises(ValueError, match="use auto or a chain of"):
        backend_names(settings.model_copy(update={"tts_backends": "espeak,festival"}))
    chain = build_speech(settings.model_copy(update={"tts_backends": "espeak"}))
    assert chain.name == "fallback:espeak"
    chain.close()


def test_auto_ranks_the_voices_and_a_written_chain_keeps_its_order(settings: Settings) -> None:
    """gTTS is unmeasured here, so the ranking puts it after eSpeak NG; an operator who writes gtts,espeak
    asks for the online voice first (the chaos suite's gTTS scenarios depend on it)."""
    online = settings.model_copy(update={"tts_gtts_url": "http://127.0.0.1:9"})
    ranked = build_speech(online)  # auto: espeak and gtts here, ranked per language
    written = build_speech(online.model_copy(update={"tts_backends": "gtts,espeak"}))
    try:
        assert [b.name for b in ranked.supporting("es")] == ["espeak", "gtts"]
        assert [b.name for b in written.supporting("es")] == ["gtts", "espeak"]
    finally:
        ranked.close()
        written.close()
