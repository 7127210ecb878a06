"""Voice activity detection: a cheap per-frame detector and a neural confirmer for whole segments.

- :class:`WebRtcVad` classifies each 10/20/30 ms frame (the WebRTC GMM detector, microseconds a
  frame). It fires on many non-speech sounds: steady white noise at any level is "voiced".
- :class:`SileroConfirm` scores a finished candidate segment with Silero VAD v6 (a small LSTM in
  ONNX, shipped inside faster-whisper). It gives white noise, clicks and hum a low probability, so
  the segmenter uses it to drop what WebRTC let through.

Both take the pipeline's format: ``(n,) float32`` mono at 16 kHz in [-1, 1].

Sources: py-webrtcvad https://github.com/wiseman/py-webrtcvad (frames of exactly 10, 20 or 30 ms of
16-bit mono PCM); Silero VAD https://github.com/snakers4/silero-vad, as packaged by faster-whisper
(``faster_whisper/vad.py``: ``SileroVADModel`` takes a multiple of 512 samples and returns one
probability per 512-sample window).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import webrtcvad
from faster_whisper.utils import get_assets_path
from faster_whisper.vad import SileroVADModel

from babelroom.audio.pcm import SAMPLE_RATE, float_to_s16le

SILERO_WINDOW = 512
"""Samples per Silero probability (32 ms at 16 kHz)."""


class WebRtcVad:
    """Speech / non-speech decision for one frame of ``frame_ms`` at 16 kHz.

    Args:
        aggressiveness: 0 (lets most audio through) .. 3 (strictest).
        frame_ms: 10, 20 or 30.

    Raises:
        ValueError: an aggressiveness or frame length webrtcvad does not support.
    """

    def __init__(self, aggressiveness: int, frame_ms: int = 30) -> None:
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"webrtcvad frames are 10, 20 or 30 ms, not {frame_ms}")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000

    def is_speech(self, frame: np.ndarray) -> bool:
        """Whether ``frame`` (``(frame_samples,) float32``) is speech.

        Raises:
            ValueError: the frame is not exactly ``frame_samples`` long.
        """
        if frame.shape != (self.frame_samples,):
            raise ValueError(f"expected ({self.frame_samples},) samples, got {frame.shape}")
        return self._vad.is_speech(float_to_s16le(frame), SAMPLE_RATE)


@dataclass(frozen=True)
class SpeechScore:
    """Silero's view of a candidate segment: the highest and the mean per-window probability (0..1)."""

    max_prob: float
    mean_prob: float


@lru_cache(maxsize=1)
def silero_model() -> SileroVADModel:
    """The Silero VAD v6 ONNX session, loaded once per process (1.2 MB, single-threaded)."""
    return SileroVADModel(os.path.join(get_assets_path(), "silero_vad_v6.onnx"))


class SileroConfirm:
    """Confirms that a candidate segment holds speech: ``max_prob >= threshold``.

    The maximum rather than the mean: a segment carries pre-speech padding and pauses that pull the
    mean down, while noise at ordinary levels never gets one window high. Measured on 3 s buffers:
    white noise at RMS 0.003–0.1 peaks at 0.06–0.10 (at RMS 0.3, clipping loud, at 0.59), clicks at
    0.02, digital silence at 0.02; real speech clips peak at 0.96–0.996. Scoring 5 s takes 8–14 ms of
    CPU.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._model = silero_model()

    def score(self, audio: np.ndarray) -> SpeechScore:
        """Speech probabilities over ``audio`` (``(n,) float32``, 16 kHz), zero-padded to whole windows.

        Raises:
            ValueError: ``audio`` is empty.
        """
        if audio.size == 0:
            raise ValueError("cannot score an empty segment")
        # np.pad always copies, which matters: SileroVADModel writes into the array it is given.
        padded = np.pad(audio.astype(np.float32, copy=False), (0, -audio.size % SILERO_WINDOW))
        probs = self._model(padded)
        return SpeechScore(max_prob=float(probs.max()), mean_prob=float(probs.mean()))

    def confirms(self, audio: np.ndarray) -> bool:
        """Whether ``audio`` holds speech by Silero's standard (see the class docstring)."""
        return self.score(audio).max_prob >= self.threshold
