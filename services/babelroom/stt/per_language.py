"""One STT worker, several Whisper models: each segment is decoded by the model of its language.

:class:`PerLanguageSTT` loads at start the model of every language of
:func:`babelroom.stt.models.served_languages` (each directory once: tiny.en for English and base for the
rest is two models, ~75 + 145 MB), logs the map (``stt_models_loaded``) and sets
``babelroom_stt_language_model{language, model}``. A language outside the map (a speaker whose header
names another Whisper language) gets its model resolved and loaded on first use. Language
identification runs on the model of ``auto``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np
import structlog

from babelroom.config import Settings
from babelroom.metrics import STT_LANGUAGE_MODEL
from babelroom.stt.base import Hypothesis, SpeechToText
from babelroom.stt.models import LANGUAGE_ID, ResolvedModel, resolve_model, resolve_models
from babelroom.stt.whisper import WhisperSTT

log = structlog.get_logger(__name__)


class PerLanguageSTT(SpeechToText):
    """Routes :meth:`transcribe` to the model of the segment's language (blocking; call from a thread).

    Raises (constructor):
        FileNotFoundError, StartupError, ValueError: as :func:`~babelroom.stt.models.resolve_model` and
            :class:`~babelroom.stt.whisper.WhisperSTT`.
    """

    name = "whisper-per-language"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_path: dict[str, WhisperSTT] = {}
        self._by_language: dict[str, WhisperSTT] = {}
        self._lock = threading.Lock()
        for language, model in resolve_models(settings).items():
            self._serve(language, model)
        identifier = self._by_language[LANGUAGE_ID]
        log.info(
            "stt_models_loaded",
            models=self.models(),
            language_id=None if identifier.english_only else identifier.model_info.name,
            hint=None if not identifier.english_only else "the language-ID model is English-only: speakers of "
            "spoken_language=auto are transcribed as English; name a multilingual model in "
            "BABELROOM_STT_MODELS['auto']",
        )

    def models(self) -> dict[str, str]:
        """Language → name of the model serving it (``auto``: language identification)."""
        return {language: engine.model_info.name for language, engine in self._by_language.items()}

    def engine(self, language: str) -> WhisperSTT:
        """The loaded model of ``language``, loading it on first use when the map did not name it."""
        with self._lock:
            engine = self._by_language.get(language)
            if engine is None:
                engine = self._serve(language, resolve_model(self.settings, language))
            return engine

    def _serve(self, language: str, model: ResolvedModel) -> WhisperSTT:
        engine = self._by_path.get(str(model.path))
        if engine is None:
            engine = self._by_path[str(model.path)] = WhisperSTT(self.settings, model)
        self._by_language[language] = engine
        STT_LANGUAGE_MODEL.labels(language=language, model=model.name).set(1)
        return engine

    def transcribe(
        self, audio: np.ndarray, language: str, prompt: str | None = None, word_timestamps: bool = False,
        terms: Sequence[str] = (), final: bool = False,
    ) -> Hypothesis:
        """:meth:`WhisperSTT.transcribe` on the model of ``language``."""
        return self.engine(language).transcribe(audio, language, prompt, word_timestamps, terms, final)

    def identify_language(self, audio: np.ndarray, candidates: Iterable[str]) -> tuple[str, float]:
        """Language identification on the ``auto`` model; ``("en", 0.0)`` (never locks) when that model is
        English-only."""
        identifier = self.engine(LANGUAGE_ID)
        if identifier.english_only:
            return "en", 0.0
        return identifier.identify_language(audio, candidates)
