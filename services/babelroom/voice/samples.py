"""Checks of an uploaded voice sample (the reference recording a cloned voice is made from).

Judged by content only, never by file name or content type: the bytes are opened with PyAV (FFmpeg) and
must be one of the allowed containers (WAV, FLAC, Ogg, MP3, WebM) holding audio. Then, in order:

- ``not_audio``: not one of those containers, or no decodable audio stream;
- ``too_short`` / ``too_long``: outside ``voice_sample_min_s`` … ``voice_sample_max_s`` (10-30 s);
- ``clipped``: more than ``voice_sample_max_clipped`` of the samples at full scale (distorted);
- ``too_quiet``: the active speech (30 ms frames within 30 dB of the loud ones and above -60 dBFS) has
  an RMS under ``voice_sample_min_dbfs`` (-40 dBFS), or there is no speech at all;
- ``too_little_speech``: less than ``voice_sample_min_speech_s`` of active speech (a long silence);

Each refusal is a :class:`SampleRefused` with its reason and a sentence for the user. Those checks need no torch,
so the gateway runs them on upload (:func:`check`). The one-speaker check needs CAM++ (torch, the jobs image
only), so the ``babelroom.check_voice_sample`` job runs it later on the stored copy (:func:`speaker_similarity`):

- ``several_speakers``: the CAM++ embeddings (:mod:`babelroom.voice.speaker`) of the first and second half
  of the speech have a cosine under ``voice_sample_min_similarity``. Measured on the repository's clips:
  one speaker's halves 0.77 (JFK, 1961 broadcast)-0.98 (LJ Speech); two speakers 0.44-0.58.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from babelroom.audio.pcm import resample
from babelroom.config import Settings
from babelroom.voice.speaker import RATE, SpeakerEmbedder

#: FFmpeg demuxer names of the accepted containers → the format reported back.
FORMATS = {"wav": "wav", "flac": "flac", "ogg": "ogg", "mp3": "mp3", "matroska,webm": "webm"}
REASONS = ("not_audio", "too_short", "too_long", "clipped", "too_quiet", "too_little_speech")
FRAME_S = 0.03
FULL_SCALE = 0.999


class SampleRefused(ValueError):
    """A voice sample failed a check: ``reason`` (one of :data:`REASONS`) and ``detail`` for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class CheckedSample:
    """A sample that passed every check but the one-speaker check.

    Attributes:
        samples: ``(n,) float32`` mono at ``sample_rate``, as decoded.
        sample_rate: Hz.
        format: the container (``wav``, ``flac``, ``ogg``, ``mp3``, ``webm``).
        duration_s: length (s).
        speech_s: active speech (s).
        speech_dbfs: RMS of the active speech (dBFS).
        clipped: share of samples at full scale.
    """

    samples: npt.NDArray[np.float32]
    sample_rate: int
    format: str
    duration_s: float
    speech_s: float
    speech_dbfs: float
    clipped: float


def decode(data: bytes) -> tuple[npt.NDArray[np.float32], int, str]:
    """``data`` as ``(n,) float32`` mono, its sample rate and its container.

    Raises:
        SampleRefused: ``not_audio``.
    """
    try:
        with av.open(io.BytesIO(data), "r") as container:
            fmt = FORMATS.get(container.format.name)
            if fmt is None:
                raise SampleRefused("not_audio", f"not WAV, FLAC, Ogg, MP3 or WebM audio ({container.format.name})")
            if not container.streams.audio:
                raise SampleRefused("not_audio", f"the {fmt} file holds no audio")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(stream)
                      for out in resampler.resample(frame)]
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise SampleRefused("not_audio", "not a readable audio file (WAV, FLAC, Ogg, MP3 or WebM)") from exc
    if not chunks or not rate:
        raise SampleRefused("not_audio", "the file holds no audio samples")
    return np.concatenate(chunks).astype(np.float32), int(rate), fmt


def _active_frames(speech16k: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per 30 ms frame of 16 kHz audio: its mean square, and whether it is active speech (within 30 dB of the
    loud frames and above -60 dBFS)."""
    size = int(FRAME_S * RATE)
    n = len(speech16k) // size
    power = np.square(speech16k[: n * size].astype(np.float64)).reshape(n, size).mean(axis=1)
    level = 10 * np.log10(np.maximum(power, 1e-20))
    loud = float(np.percentile(level, 95)) if len(level) else -200.0
    return power, level > max(loud - 30.0, -60.0)


def check(data: bytes, settings: Settings) -> CheckedSample:
    """Run every check on an uploaded file but the one-speaker check (:func:`speaker_similarity`).

    Raises:
        SampleRefused: the first check that fails.
    """
    samples, rate, fmt = decode(data)
    duration = len(samples) / rate
    if duration < settings.voice_sample_min_s:
        raise SampleRefused("too_short", f"{duration:.1f} s of audio: a voice sample needs "
                                         f"{settings.voice_sample_min_s:g}-{settings.voice_sample_max_s:g} s")
    if duration > settings.voice_sample_max_s:
        raise SampleRefused("too_long", f"{duration:.1f} s of audio: a voice sample needs "
                                        f"{settings.voice_sample_min_s:g}-{settings.voice_sample_max_s:g} s")
    clipped = float(np.mean(np.abs(samples) >= FULL_SCALE))
    if clipped > settings.voice_sample_max_clipped:
        raise SampleRefused("clipped", f"{clipped:.1%} of the samples are at full scale (distorted): record "
                                       "with a lower input level")
    speech16k = resample(samples, rate, RATE)
    power, active = _active_frames(speech16k)
    speech_dbfs = float(10 * np.log10(power[active].mean())) if active.any() else -200.0
    if speech_dbfs < settings.voice_sample_min_dbfs:
        raise SampleRefused("too_quiet", f"the speech is at {max(speech_dbfs, -120):.0f} dBFS: it needs at least "
                                         f"{settings.voice_sample_min_dbfs:g} dBFS (speak closer to the microphone)")
    speech_s = float(active.sum() * FRAME_S)
    if speech_s < settings.voice_sample_min_speech_s:
        raise SampleRefused("too_little_speech", f"{speech_s:.1f} s of speech: a voice sample needs at least "
                                                 f"{settings.voice_sample_min_speech_s:g} s")
    return CheckedSample(samples, rate, fmt, duration, speech_s, speech_dbfs, clipped)


def speaker_similarity(samples: npt.NDArray[np.float32], rate: int, embedder: SpeakerEmbedder) -> float:
    """Cosine of the CAM++ embeddings of the first and second half of the active speech of ``(n,) float32`` mono
    audio at ``rate`` Hz (one speaker: 0.77-0.98; two: 0.44-0.58): below ``voice_sample_min_similarity`` the
    sample is ``several_speakers``."""
    speech16k = resample(samples, rate, RATE)
    _, active = _active_frames(speech16k)
    voiced = np.repeat(active, int(FRAME_S * RATE))
    speech = speech16k[: len(voiced)][voiced]
    middle = len(speech) // 2
    return float(embedder.embed(speech[:middle]) @ embedder.embed(speech[middle:]))
