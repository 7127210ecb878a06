"""The ingest format: StreamFormat validation, PcmDecoder (frames → 16 kHz mono), decode_file."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import ValidationError

from babelroom.audio.pcm import FrameError, PcmDecoder, StreamFormat, decode_file, float_to_s16le
from conftest import SPEECH

JFK = SPEECH / "jfk.flac"  # 44.1 kHz stereo
LJ = SPEECH / "LJ001-0002.wav"  # 22.05 kHz mono


def s16le(path: Path, rate: int | None = None, layout: str | None = None) -> tuple[bytes, int, int]:
    """A file as a client would send it: interleaved s16le bytes, its rate and channel count.

    Without ``rate``/``layout`` the file's own are kept (only the sample format becomes s16).
    """
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        frames = [g for f in container.decode(audio=0) for g in resampler.resample(f)]
        frames += resampler.resample(None)
    channels = frames[0].layout.nb_channels
    data = b"".join(f.to_ndarray().astype("<i2").tobytes() for f in frames)
    return data, frames[0].sample_rate, channels


def stream(data: bytes, rate: int, channels: int, frame_bytes: int) -> np.ndarray:
    """Decode ``data`` in frames of ``frame_bytes`` (the last one shorter), flush included."""
    fmt = StreamFormat(participant="p1", language="en", sample_rate=rate, channels=channels)
    decoder = PcmDecoder(fmt, max_frame_bytes=max(frame_bytes, 192_000))
    out = [decoder.decode(data[i : i + frame_bytes]) for i in range(0, len(data), frame_bytes)]
    return np.concatenate(out + [decoder.flush()])


def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


# --- StreamFormat ---


def test_stream_format_defaults_and_normalisation():
    fmt = StreamFormat.model_validate_json('{"participant": "u42", "language": "EN"}')
    assert (fmt.name, fmt.language, fmt.sample_rate, fmt.channels, fmt.format) == (
        "u42", "en", 16_000, 1, "s16le")
    named = StreamFormat(participant="u42", name="Ada", language="es", sample_rate=48_000, channels=2)
    assert named.name == "Ada" and named.frame_align_bytes == 4
    assert StreamFormat(participant="u42", language="Auto").language == "auto"  # language ID (stt/language_id.py)


@pytest.mark.parametrize(
    "bad",
    [
        {"language": "eng"},
        {"language": "automatic"},
        {"language": "e1"},
        {"language": ""},
        {"sample_rate": 7_999},
        {"sample_rate": 48_001},
        {"channels": 3},
        {"format": "f32le"},
        {"participant": ""},
    ],
)
def test_stream_format_rejects(bad):
    with pytest.raises(ValidationError):
        StreamFormat(**{"participant": "u42", "language": "en", **bad})


# --- PcmDecoder on real speech ---


def test_44k1_stereo_jfk_matches_whole_file_resample():
    data, rate, channels = s16le(JFK)
    assert (rate, channels) == (44_100, 2)
    out = stream(data, rate, channels, frame_bytes=3_528)  # 20 ms frames
    n_in = len(data) // 4
    assert abs(len(out) - n_in * 16_000 / 44_100) <= 4
    assert corr(out, decode_file(JFK)) > 0.999


def test_22k05_mono_lj_matches_whole_file_resample():
    data, rate, channels = s16le(LJ)
    assert (rate, channels) == (22_050, 1)
    out = stream(data, rate, channels, frame_bytes=882)  # 20 ms frames
    assert abs(len(out) - len(data) // 2 * 16_000 / 22_050) <= 4
    assert corr(out, decode_file(LJ)) > 0.999


def test_8k_mono_keeps_the_telephone_band():
    data, rate, _ = s16le(LJ, rate=8_000, layout="mono")
    out = stream(data, rate, 1, frame_bytes=320)  # 20 ms frames
    assert abs(len(out) - len(data)) <= 4  # 2 bytes a sample at 8 kHz = 2 samples at 16 kHz
    # 8 kHz keeps speech below 4 kHz only, nearly all of its energy.
    assert corr(out, decode_file(LJ)) > 0.99


def test_frame_size_does_not_change_the_output():
    """The resampler's state carries across frames: no restart, no click at frame edges."""
    data, rate, channels = s16le(JFK)
    data = data[44_100 * 4 : 44_100 * 4 * 3]  # 1-3 s: speech ("And so, my fellow Americans")
    whole = stream(data, rate, channels, frame_bytes=len(data))
    for frame_bytes in (1_000, 3_528, 44_100 * 4):
        np.testing.assert_allclose(stream(data, rate, channels, frame_bytes), whole, atol=1e-6)
    one_sample = stream(data[: 44_100], rate, channels, frame_bytes=4)  # 1 sample a frame, 0.25 s
    np.testing.assert_allclose(one_sample, stream(data[: 44_100], rate, channels, 44_100), atol=1e-6)


def test_stereo_is_the_mean_of_both_channels():
    mono, rate, _ = s16le(LJ)
    x = np.frombuffer(mono, "<i2")
    same = stream(np.stack([x, x], 1).tobytes(), rate, 2, 4_000)
    np.testing.assert_allclose(same, stream(mono, rate, 1, 2_000), atol=1e-6)
    opposite = stream(np.stack([x, -x], 1).tobytes(), rate, 2, 4_000)
    assert np.abs(opposite).max() < 1e-4


def test_16k_passes_through_unchanged():
    x = np.random.default_rng(0).integers(-20_000, 20_000, 1_600).astype("<i2")
    out = stream(x.tobytes(), 16_000, 1, 640)
    np.testing.assert_array_equal(out, x / 32768.0)


# --- frame errors ---


@pytest.mark.parametrize(
    ("channels", "frame", "reason"),
    [
        (1, b"", "frame_empty"),
        (1, b"\x00" * 3, "frame_misaligned"),
        (2, b"\x00" * 6, "frame_misaligned"),
        (1, b"\x00" * 1_002, "frame_too_large"),
    ],
)
def test_frame_errors(channels, frame, reason):
    fmt = StreamFormat(participant="p", language="en", sample_rate=22_050, channels=channels)
    decoder = PcmDecoder(fmt, max_frame_bytes=1_000)
    with pytest.raises(FrameError) as err:
        decoder.decode(frame)
    assert err.value.reason == reason
    # The stream goes on after a rejected frame.
    assert decoder.decode(b"\x00" * 4 * channels * 100).dtype == np.float32


# --- files and conversions ---


@pytest.mark.parametrize(("container", "codec"), [("mp3", "libmp3lame"), ("ogg", "libopus")])
def test_decode_file_lossy_formats(tmp_path, container, codec):
    ref = decode_file(LJ)
    path = tmp_path / f"lj.{container}"
    with av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=48_000 if codec == "libopus" else 22_050, layout="mono")
        frame = av.AudioFrame.from_ndarray(ref.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 16_000
        resampler = av.AudioResampler(format=st.codec_context.format, layout="mono", rate=st.rate,
                                      frame_size=st.codec_context.frame_size)
        for f in resampler.resample(frame) + resampler.resample(None):
            out.mux(st.encode(f))
        out.mux(st.encode(None))
    got = decode_file(path)
    # FFmpeg trims the encoder delay and padding (LAME header, Opus pre-skip): same length, aligned.
    assert abs(len(got) - len(ref)) <= 32
    assert corr(got, ref) > 0.99


def test_decode_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        decode_file(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 10)
    with pytest.raises(av.error.FFmpegError):
        decode_file(tmp_path / "junk.wav")


def test_float_to_s16le_round_trip_and_clipping():
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], np.float32)
    y = np.frombuffer(float_to_s16le(x), "<i2")
    assert y.tolist() == [0, 16384, -16384, 32767, -32767, 32767, -32767]
