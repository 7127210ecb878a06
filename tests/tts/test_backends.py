"""Each quick-voice backend speaks for real, and Whisper understands it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from babelroom.tts.base import Speech, TextToSpeech, UnsupportedLanguage
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.kokoro import KokoroTextToSpeech
from babelroom.tts.piper import PiperTextToSpeech

SENTENCES = {
    "en": "Please send me the report before Friday.",
    "es": "Por favor, envíame el informe antes del viernes.",
}


@pytest.fixture(scope="module")
def kokoro(tts_models_dir: Path) -> KokoroTextToSpeech:
    return KokoroTextToSpeech(tts_models_dir / "kokoro")


@pytest.fixture(scope="module")
def piper(tts_models_dir: Path) -> Iterator[PiperTextToSpeech]:
    backend = PiperTextToSpeech(tts_models_dir / "piper")
    yield backend
    backend.close()


def _check(speech: Speech, backend: TextToSpeech) -> None:
    assert speech.backend == backend.name and speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert 1.0 < speech.duration_s < 6.0, speech.duration_s
    assert np.abs(speech.samples).max() > 0.05  # not silence


@pytest.mark.parametrize("language", ["en", "es"])
def test_espeak_is_understood(language: str, wer_of: Callable[[Speech, str, str], float]) -> None:
    backend = EspeakTextToSpeech()
    speech = backend.synthesize(SENTENCES[language], language)
    _check(speech, backend)
    assert speech.sample_rate == 22_050 and speech.rtf < 0.5
    assert wer_of(speech, SENTENCES[language], language) <= 0.5  # measured on NTREX: 0.44 (en), 0.47 (es)


@pytest.mark.parametrize("language", ["en", "es"])
def test_kokoro_is_understood(language: str, kokoro: KokoroTextToSpeech,
                              wer_of: Callable[[Speech, str, str], float]) -> None:
    speech = kokoro.synthesize(SENTENCES[language], language)
    _check(speech, kokoro)
    assert speech.sample_rate == 24_000 and speech.voice == "jm_kumo"
    assert wer_of(speech, SENTENCES[language], language) <= 0.2


def test_piper_is_understood(piper: PiperTextToSpeech, wer_of: Callable[[Speech, str, str], float]) -> None:
    speech = piper.synthesize(SENTENCES["en"], "en")
    _check(speech, piper)
    assert speech.sample_rate == 22_050 and speech.voice == "en_US-joe-medium"
    assert wer_of(speech, SENTENCES["en"], "en") <= 0.2


def test_piper_speaks_only_english(piper: PiperTextToSpeech) -> None:
    assert not piper.supports("es")
    with pytest.raises(UnsupportedLanguage):
        piper.synthesize(SENTENCES["es"], "es")


def test_missing_model_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="kokoro-v1.0.int8.onnx"):
        KokoroTextToSpeech(tmp_path)
    with pytest.raises(FileNotFoundError, match="Piper: no voice"):
        PiperTextToSpeech(tmp_path)
