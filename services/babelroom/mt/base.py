"""The translation interface every backend implements.

Pattern: livekit-agents' ``stt.STT`` / ``FallbackAdapter`` — interchangeable backends behind one
interface, chained by :class:`babelroom.mt.fallback.FallbackTranslator`.
Languages are ISO 639-1 codes (``en``, ``es`` …); each backend maps them to its own codes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class TranslationError(RuntimeError):
    """A backend could not translate a batch (crashed, timed out, unreachable, breaker open)."""


class UnsupportedLanguagePair(TranslationError):
    """The backend has no model for this source/target pair."""


class Translator(ABC):
    """Translates batches of sentences. Implementations are blocking and thread-safe per call."""

    #: Short backend name used in metrics, logs and the cache key (``nllb``, ``apertium`` …).
    name: str

    @abstractmethod
    def supports(self, src: str, tgt: str) -> bool:
        """Whether this backend can translate ``src`` → ``tgt`` (ISO 639-1)."""

    @abstractmethod
    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` (one sentence or caption each) from ``src`` to ``tgt``.

        Returns:
            One translation per input, in order.

        Raises:
            UnsupportedLanguagePair: the pair is not available in this backend.
            TranslationError: the backend failed.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release processes, sessions or models held by the backend."""
