"""A fallback chain of speech backends (pattern: :class:`babelroom.mt.fallback.FallbackTranslator`).

Each text goes to the best backend for its language (:func:`babelroom.tts.voices.ranked`; or the first in
the chain's order, with ``order="configured"``); when that backend raises SpeechError,
``TTS_FALLBACK{backend=<failed>}`` counts it and the next one tries.
"""

from __future__ import annotations

from typing import Literal

import structlog

from babelroom.metrics import TTS_FALLBACK
from babelroom.tts.base import Speech, SpeechError, TextToSpeech, UnsupportedLanguage
from babelroom.tts.voices import ranked

log = structlog.get_logger(__name__)


class FallbackTextToSpeech(TextToSpeech):
    """Tries the backends that speak a language, best measured voice first. Its :attr:`name` is the
    chain, e.g. ``fallback:kokoro,espeak``.

    Args:
        backends: the chain.
        latency_budget_s: compute budget (s) for ``budget_chars`` characters; see
            :func:`babelroom.tts.voices.ranked`. None: rank by intelligibility only.
        budget_chars: the text length the budget is for (a first chunk).
        order: ``measured`` ranks each language's backends (:func:`~babelroom.tts.voices.ranked`);
            ``configured`` keeps the order of ``backends``.

    Raises:
        ValueError: ``backends`` is empty.
    """

    def __init__(self, backends: list[TextToSpeech], latency_budget_s: float | None = None,
                 budget_chars: int = 40, order: Literal["measured", "configured"] = "measured") -> None:
        if not backends:
            raise ValueError("a fallback chain needs at least one backend")
        self.backends = list(backends)
        self.latency_budget_s, self.budget_chars, self.order = latency_budget_s, budget_chars, order
        self.name = "fallback:" + ",".join(backend.name for backend in self.backends)

    def supporting(self, language: str) -> list[TextToSpeech]:
        """The backends that speak ``language``, best first (those meeting the latency budget, if any, first),
        or in the chain's order (``order="configured"``)."""
        speaking = [backend for backend in self.backends if backend.supports(language)]
        if self.order == "configured":
            return speaking
        return ranked(speaking, language, self.latency_budget_s, self.budget_chars)

    def voice(self, language: str) -> str | None:
        """The voice the first choice for ``language`` uses (``backend/voice``), or None."""
        backends = self.supporting(language)
        return f"{backends[0].name}/{backends[0].voice(language)}" if backends else None

    def synthesize(self, text: str, language: str) -> Speech:
        """Speak with the first backend for ``language`` that succeeds.

        Raises:
            UnsupportedLanguage: no backend speaks ``language``.
            SpeechError: every backend failed; the message lists each failure.
        """
        backends = self.supporting(language)
        if not backends:
            raise UnsupportedLanguage(f"{self.name}: no voice for {language!r}")
        failures = []
        for backend in backends:
            try:
                return backend.synthesize(text, language)
            except SpeechError as exc:
                TTS_FALLBACK.labels(backend.name).inc()
                log.warning("tts_backend_failed", backend=backend.name, language=language, error=str(exc))
                failures.append(f"{backend.name}: {exc}")
        raise SpeechError(f"every backend failed for {language}: " + "; ".join(failures))

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
