"""The text-to-speech interface every quick-voice backend implements.

Pattern: :class:`babelroom.mt.base.Translator` (livekit-agents' ``tts.TTS`` / ``FallbackAdapter``):
interchangeable backends behind one interface, chained by
:class:`babelroom.tts.fallback.FallbackTextToSpeech`. Languages are ISO 639-1 codes (``en``, ``es`` …);
each backend maps them to its own voice names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


class SpeechError(RuntimeError):
    """A backend could not synthesise (crashed, timed out, unreachable, model missing, breaker open)."""


class UnsupportedLanguage(SpeechError):
    """The backend has no voice for this language."""


@dataclass(frozen=True)
class Speech:
    """Synthesised audio of one text.

    Attributes:
        samples: mono ``(n_samples,) float32`` in [-1, 1].
        sample_rate: of ``samples`` (Hz).
        backend: the backend that made it (``kokoro``, ``espeak`` …).
        voice: the backend's voice name (``jm_kumo``, ``es`` …).
        compute_s: wall-clock seconds the synthesis took (0 for a cache hit).
    """

    samples: npt.NDArray[np.float32]
    sample_rate: int
    backend: str
    voice: str
    compute_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length of the audio (s)."""
        return len(self.samples) / self.sample_rate

    @property
    def rtf(self) -> float:
        """Real-time factor: compute seconds per second of audio (below 1 is faster than real time)."""
        return self.compute_s / self.duration_s if self.duration_s else 0.0


def from_pcm16(pcm: bytes) -> npt.NDArray[np.float32]:
    """Mono s16le bytes as ``(n,) float32`` in [-1, 1]."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class TextToSpeech(ABC):
    """Speaks one text at a time. Implementations are blocking and thread-safe per call."""

    #: Short backend name used in metrics, logs and the cache key (``kokoro``, ``espeak`` …).
    name: str

    @abstractmethod
    def voice(self, language: str) -> str | None:
        """The voice this backend uses for ``language`` (ISO 639-1), or None if it has none."""

    def supports(self, language: str) -> bool:
        """Whether this backend can speak ``language``."""
        return self.voice(language) is not None

    @abstractmethod
    def synthesize(self, text: str, language: str) -> Speech:
        """Speak ``text`` in ``language``.

        Raises:
            UnsupportedLanguage: no voice for ``language``.
            SpeechError: the backend failed.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release processes, sessions or models held by the backend."""
