"""The speech-to-text interface every backend implements (pattern: livekit-agents' ``stt.STT``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hypothesis:
    """One decode of one audio buffer.

    Attributes:
        text: the transcript, stripped.
        avg_logprob: mean token log-probability (Whisper's confidence; ≤ 0).
        no_speech_prob: probability of the no-speech token at the first step (0..1).
        compression_ratio: zlib compression ratio of the text (high = repetitive).
        audio_s: length of the decoded audio (s).
        inference_s: wall time of the decode (s).
        words: ``(start_s, end_s)`` of each word of ``text.split()``, from the start of the audio,
            when word timestamps were asked for; else empty.
    """

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    audio_s: float
    inference_s: float
    words: tuple[tuple[float, float], ...] = ()


class SpeechToText(ABC):
    """Transcribes one segment at a time. Implementations are blocking; call them from a thread."""

    name: str

    @abstractmethod
    def transcribe(
        self, audio: np.ndarray, language: str, prompt: str | None = None, word_timestamps: bool = False,
        terms: Sequence[str] = (),
        final: bool = False,
    ) -> Hypothesis:
        """Decode ``audio``: ``(n_samples,) float32`` at 16 kHz in [-1, 1].

        Args:
            language: ISO 639-1 code of the speech.
            prompt: previous text of the same speaker, to condition the decoder (optional).
            word_timestamps: fill :attr:`Hypothesis.words`.
            terms: domain terms of the room's documents, most useful first, to bias the decoder towards
                (as many as the backend's budget holds; see :mod:`babelroom.context`).
            final: decode as a final (the text that stays), not a partial: when ``prompt`` ends no
                sentence, make sure the prompt did not make the decoder skip the audio's first words
                (:mod:`babelroom.stt.prompt_skip`; costs a decoder pass), and use the backend's final
                settings (Whisper: ``stt_final_window_s``).

        Raises:
            ValueError: the language is not supported by the loaded model.
        """

    def identify_language(self, audio: np.ndarray, candidates: Iterable[str]) -> tuple[str, float]:
        """The most probable of ``candidates`` (ISO 639-1) for ``audio``, with its probability (0..1).

        Raises:
            ValueError: this backend cannot identify languages (the default).
        """
        raise ValueError(f"{self.name} cannot identify languages")
