"""The audio ingest format and its decoding to the pipeline's one internal format.

Internal format: ``(n,) float32`` mono at :data:`SAMPLE_RATE` (16 kHz) in [-1, 1].

A client opens the audio WebSocket, sends one JSON text message (:class:`StreamFormat`), then binary
frames of interleaved little-endian signed 16-bit PCM at the announced rate and channel count. Each
frame goes through :class:`PcmDecoder`, which keeps one resampler per stream so that frames of any
size join up without clicks.

Sources: PyAV ``AudioResampler`` (libswresample behind FFmpeg's ``aformat`` filter),
https://pyav.basswood-io.com/docs/stable/api/audio.html; s16le layout, FFmpeg's ``s16``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SAMPLE_RATE = 16_000
#: Bytes per sample of the wire format (s16le).
SAMPLE_BYTES = 2
_LANGUAGE = re.compile(r"^[a-z]{2}$")


class StreamFormat(BaseModel):
    """The first (JSON) message of an audio WebSocket: who speaks, in which language, in what PCM.

    ``language`` is lower-cased before it is checked; ``name`` defaults to ``participant``.

    Raises:
        pydantic.ValidationError: a field is missing or out of range.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    participant: str = Field(min_length=1, max_length=128, description="Participant id")
    name: str = Field("", max_length=128, description="Display name; defaults to the participant id")
    language: str = Field(description="Spoken language, ISO 639-1 (two letters: en, es …), or auto: identified "
                          "from the speech and locked (babelroom.stt.language_id)")
    sample_rate: int = Field(SAMPLE_RATE, ge=8_000, le=48_000, description="Hz")
    channels: Literal[1, 2] = 1
    format: Literal["s16le"] = "s16le"

    @field_validator("language", mode="before")
    @classmethod
    def _iso_639_1(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            if not _LANGUAGE.match(value) and value != "auto":
                raise ValueError("language must be an ISO 639-1 code of two letters, or auto")
        return value

    @model_validator(mode="after")
    def _default_name(self) -> StreamFormat:
        if not self.name:
            object.__setattr__(self, "name", self.participant)
        return self

    @property
    def frame_align_bytes(self) -> int:
        """Bytes of one sample on every channel; a frame's length must be a multiple of it."""
        return SAMPLE_BYTES * self.channels


class FrameError(ValueError):
    """A binary frame that cannot be decoded; ``str()`` gives the human detail.

    Attributes:
        reason: short machine reason, the ``reason`` label of ``babelroom_ingest_rejected_total``:
            ``frame_empty``, ``frame_too_large`` or ``frame_misaligned``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class _MonoResampler:
    """Streams ``(n,) float32`` mono at ``rate`` Hz to 16 kHz, keeping the filter state between calls."""

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._pts = 0
        self._time_base = Fraction(1, rate)

    def push(self, x: np.ndarray | None) -> np.ndarray:
        """Resample the next block ``x`` (or flush the filter's delay line with ``None``)."""
        frame = None
        if x is not None:
            frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = self._pts
            frame.time_base = self._time_base
            self._pts += x.shape[0]
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)


class PcmDecoder:
    """Decodes one stream's binary frames (s16le, interleaved) to 16 kHz mono float32.

    Stereo is down-mixed as ``(left + right) / 2``. Resampling is streaming: libswresample's filter
    state carries over from frame to frame, so the output of many small frames equals (to float
    rounding) the output of one big frame. The resampler holds back its filter delay (16–32 output
    samples, 1–2 ms); :meth:`flush` returns them at end of stream.
    """

    def __init__(self, fmt: StreamFormat, max_frame_bytes: int = 192_000) -> None:
        self.fmt = fmt
        self.max_frame_bytes = max_frame_bytes
        self._resampler = _MonoResampler(fmt.sample_rate)

    def validate(self, frame: bytes) -> None:
        """Check one frame's length.

        Raises:
            FrameError: ``frame_empty``, ``frame_too_large`` (over ``max_frame_bytes``) or
                ``frame_misaligned`` (not a whole number of samples on every channel).
        """
        if not frame:
            raise FrameError("frame_empty", "a binary frame must hold at least one sample")
        if len(frame) > self.max_frame_bytes:
            raise FrameError("frame_too_large", f"{len(frame)} bytes > {self.max_frame_bytes}")
        if len(frame) % self.fmt.frame_align_bytes:
            raise FrameError(
                "frame_misaligned",
                f"{len(frame)} bytes is not a multiple of {self.fmt.frame_align_bytes}",
            )

    def decode(self, frame: bytes) -> np.ndarray:
        """Decode one binary frame to ``(n,) float32`` at 16 kHz, ``n ≈ samples * 16000 / rate``.

        Raises:
            FrameError: see :meth:`validate`; the stream's state is unchanged by a rejected frame.
        """
        self.validate(frame)
        pcm = np.frombuffer(frame, dtype="<i2").reshape(-1, self.fmt.channels)
        mono = pcm.mean(axis=1, dtype=np.float32) / 32768.0
        return self._resampler.push(mono)

    def flush(self) -> np.ndarray:
        """The samples still inside the resampler, ``(k,) float32``; call once at end of stream."""
        return self._resampler.push(None)


def decode_file(path: str | Path) -> np.ndarray:
    """Decode the first audio stream of a file (wav, flac, mp3, ogg …) to ``(n,) float32`` 16 kHz mono.

    Channels are averaged, as in :class:`PcmDecoder`.

    Raises:
        av.error.FFmpegError: the file cannot be opened or decoded (e.g. ``FileNotFoundError``,
            ``InvalidDataError``).
        ValueError: the file has no audio stream.
    """
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="fltp", rate=SAMPLE_RATE)
        blocks = []
        for frame in container.decode(audio=0):
            blocks += [f.to_ndarray() for f in resampler.resample(frame)]
        blocks += [f.to_ndarray() for f in resampler.resample(None)]
    if not blocks:
        return np.zeros(0, np.float32)
    return np.concatenate(blocks, axis=1).mean(axis=0, dtype=np.float32)


def float_to_s16le(x: np.ndarray) -> bytes:
    """``(n,) float`` in [-1, 1] to s16le bytes (``2n`` bytes); values outside are clipped."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: npt.NDArray[np.float32], rate: int, target: int) -> npt.NDArray[np.float32]:
    """``(n,) float32`` mono from ``rate`` to ``target`` Hz, in one piece (FFmpeg's resampler)."""
    if rate == target:
        return samples
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    frame.pts, frame.time_base = 0, Fraction(1, rate)
    chunks = [out.to_ndarray().reshape(-1) for out in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
