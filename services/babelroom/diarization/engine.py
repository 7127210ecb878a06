"""The diarization interface: audio in, speaker turns and one embedding per speaker out.

Audio is float32 PCM, mono, 16 kHz, in [-1, 1] (:data:`SAMPLE_RATE`). Speakers are labels local to
one call of :meth:`Diarizer.diarize` (``SPEAKER_01`` …); tracking them across windows is the job's
work (:mod:`babelroom.diarization.tracking`), by the cosine of the embeddings returned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of speech by one speaker, in seconds from the start of the audio."""

    start_s: float
    end_s: float
    speaker: str


@dataclass(frozen=True)
class Diarization:
    """What a :class:`Diarizer` found: ``turns`` in time order and each speaker's embedding.

    ``embeddings`` maps every speaker of ``turns`` to the mean of its segment embeddings (1-D float32;
    CAM++: 192-d). ``backend`` names the engine; ``seconds`` is the wall time it took.
    """

    turns: tuple[SpeakerTurn, ...]
    embeddings: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    backend: str = ""
    seconds: float = 0.0

    @property
    def speakers(self) -> list[str]:
        """The speakers of ``turns``, in order of first appearance."""
        return list(dict.fromkeys(turn.speaker for turn in self.turns))


class Diarizer(Protocol):
    """A loaded diarization engine (weights in memory; one call at a time)."""

    name: str

    def diarize(self, audio: Audio) -> Diarization:
        """Speaker turns of ``audio`` (float32 mono 16 kHz); no speech: no turns.

        Raises:
            ValueError: ``audio`` is not 1-D float32 in [-1, 1].
        """
        ...


def check_audio(audio: Audio) -> None:
    """Raise ``ValueError`` unless ``audio`` is 1-D float32 PCM in [-1, 1]."""
    if audio.ndim != 1 or audio.dtype != np.float32:
        raise ValueError(f"audio must be 1-D float32 (got shape {audio.shape}, {audio.dtype})")
    if audio.size and float(np.max(np.abs(audio))) > 1.0:
        raise ValueError("audio must be in [-1, 1]")
