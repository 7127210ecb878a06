"""The voice table: for each language, the installed voices ranked by measured intelligibility.

Intelligibility is the word error rate (WER) of Whisper base transcribing the synthesised speech back
(:mod:`babelroom.dev.tts_intelligibility`): lower is better. :func:`ranked` orders the backends of a
language by the WER recorded in :data:`MEASURED`; an unmeasured (backend, language) takes its
backend's :data:`PRIOR` (an ordering, not a measurement); ties keep the configured order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from babelroom.tts.base import TextToSpeech


@dataclass(frozen=True)
class Measurement:
    wer: float  # Whisper base's word error rate on the speech (0 = every word back)
    rtf: float  # wall-clock compute seconds per second of audio, one onnxruntime thread
    source: str


_NTREX = ("NTREX-128 dev lines 1-8 (40-80 s of speech per row), Whisper base int8 greedy, babelroom eval's "
          "normalisation, measured 2026-12-06 (python -m babelroom.dev.tts_intelligibility); RTF is wall clock "
          "with one onnxruntime thread on a shared 2-core machine (load 1-9, niced)")

#: Measured intelligibility by (backend, language). Kokoro is best everywhere it speaks; eSpeak NG's
#: Portuguese is barely understood. Kokoro costs 1-1.7 s per audio second, Piper ~0.07, eSpeak ~0.01:
#: where latency matters more than clarity, ``tts_backends=piper,espeak`` chooses speed.
MEASURED: dict[tuple[str, str], Measurement] = {
    ("kokoro", "en"): Measurement(0.076, 1.71, _NTREX),
    ("kokoro", "es"): Measurement(0.108, 1.57, _NTREX),
    ("kokoro", "pt"): Measurement(0.069, 1.01, _NTREX),
    ("piper", "en"): Measurement(0.151, 0.072, _NTREX),
    ("espeak", "en"): Measurement(0.437, 0.005, _NTREX),
    ("espeak", "es"): Measurement(0.473, 0.006, _NTREX),
    ("espeak", "pt"): Measurement(1.277, 0.008, _NTREX),
}

#: WER assumed for an unmeasured (backend, language): neural voices before formant synthesis; gTTS
#: (online, not measurable here) last.
PRIOR = {"piper": 0.15, "kokoro": 0.2, "espeak": 0.5, "gtts": 1.0}

B = TypeVar("B", bound=TextToSpeech)


def expected_wer(backend: str, language: str) -> float:
    """The measured WER of ``backend`` speaking ``language``, else the backend's prior."""
    found = MEASURED.get((backend, language))
    return found.wer if found else PRIOR.get(backend, 1.0)


#: Real-time factor assumed for an unmeasured (backend, language); gTTS's is a network round trip.
PRIOR_RTF = {"piper": 0.1, "kokoro": 1.5, "espeak": 0.01, "gtts": 0.5}
#: Characters of text per second of speech (NTREX en/es/pt through Kokoro and Piper: 14-16).
CHARS_PER_SECOND = 15.0


def expected_rtf(backend: str, language: str) -> float:
    """The measured real-time factor of ``backend`` speaking ``language``, else the backend's prior."""
    found = MEASURED.get((backend, language))
    return found.rtf if found else PRIOR_RTF.get(backend, 1.0)


def expected_compute_s(backend: str, language: str, chars: int) -> float:
    """Expected compute time (s) of ``backend`` speaking ``chars`` characters of ``language``."""
    return expected_rtf(backend, language) * chars / CHARS_PER_SECOND


def ranked(backends: Sequence[B], language: str, budget_s: float | None = None, chars: int = 40) -> list[B]:
    """``backends`` best first for ``language``: lowest expected WER, ties in the given order.

    With ``budget_s``, the voices whose expected compute for ``chars`` characters (a first chunk)
    exceeds it rank after those that meet it, each group by WER: latency before clarity.
    """
    def key(backend: B) -> tuple[bool, float]:
        late = budget_s is not None and expected_compute_s(backend.name, language, chars) > budget_s
        return late, expected_wer(backend.name, language)

    return sorted(backends, key=key)
