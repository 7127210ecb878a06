"""A fallback chain of translation backends (pattern: livekit-agents' ``stt.FallbackAdapter``).

Each batch goes to the first backend that supports its pair; when that backend raises
TranslationError, ``MT_FALLBACK{backend=<failed>}`` counts it and the next supporting backend gets the
whole batch.
"""

from __future__ import annotations

import structlog

from babelroom.metrics import MT_FALLBACK
from babelroom.mt.base import TranslationError, Translator, UnsupportedLanguagePair

log = structlog.get_logger(__name__)


class FallbackTranslator(Translator):
    """Tries ``backends`` in order. Its :attr:`name` is the chain, e.g. ``fallback:nllb,apertium``.

    Raises:
        ValueError: ``backends`` is empty.
    """

    def __init__(self, backends: list[Translator]) -> None:
        if not backends:
            raise ValueError("a fallback chain needs at least one backend")
        self.backends = list(backends)
        self.name = "fallback:" + ",".join(backend.name for backend in self.backends)

    def supporting(self, src: str, tgt: str) -> list[Translator]:
        """The backends that support ``src`` → ``tgt``, in chain order."""
        return [backend for backend in self.backends if backend.supports(src, tgt)]

    def supports(self, src: str, tgt: str) -> bool:
        return any(backend.supports(src, tgt) for backend in self.backends)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return self.translate_batch_with_backend(texts, src, tgt)[0]

    def translate_batch_with_backend(
        self, texts: list[str], src: str, tgt: str
    ) -> tuple[list[str], str]:
        """Translate with the first supporting backend that succeeds.

        Returns:
            The translations (one per input, in order) and the name of the backend that made them.

        Raises:
            UnsupportedLanguagePair: no backend supports the pair.
            TranslationError: every supporting backend failed; the message lists each failure.
        """
        backends = self.supporting(src, tgt)
        if not backends:
            raise UnsupportedLanguagePair(f"{self.name}: no backend for {src}→{tgt}")
        failures = []
        for backend in backends:
            try:
                return backend.translate_batch(texts, src, tgt), backend.name
            except TranslationError as exc:
                MT_FALLBACK.labels(backend.name).inc()
                log.warning("mt_backend_failed", backend=backend.name, src=src, tgt=tgt, error=str(exc))
                failures.append(f"{backend.name}: {exc}")
        raise TranslationError(f"every backend failed for {src}→{tgt}: " + "; ".join(failures))

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
