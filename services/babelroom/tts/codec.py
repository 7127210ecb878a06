"""Audio encoding of synthesised speech for delivery, and decoding of compressed replies (PyAV/FFmpeg).

Delivery format: one Ogg Opus file per sentence (48 kHz mono, VBR around ``bitrate``), which a browser
decodes whole with ``AudioContext.decodeAudioData``. For speech at 32 kbit/s it is about 1/10 the size
of 24 kHz s16le PCM (384 kbit/s); encoding costs a few ms per second of audio.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

OPUS_RATE = 48_000


def encode_ogg_opus(samples: npt.NDArray[np.float32], sample_rate: int, bitrate: int = 32_000) -> bytes:
    """``(n,) float32`` mono at ``sample_rate`` as an Ogg Opus file (resampled to 48 kHz)."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = bitrate
        stream.codec_context.options = {"application": "voip", "compression_level": "5"}
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts, frame.time_base = 0, Fraction(1, sample_rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def decode_audio(data: bytes) -> tuple[npt.NDArray[np.float32], int]:
    """A compressed audio file (MP3, Ogg Opus …) as ``(n,) float32`` mono and its sample rate.

    Raises:
        ValueError: ``data`` holds no decodable audio.
    """
    try:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(stream)
                for out in resampler.resample(frame)
            ]
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"not decodable audio: {exc}") from exc
    if not chunks:
        raise ValueError("no audio samples")
    return np.concatenate(chunks).astype(np.float32), int(rate)
