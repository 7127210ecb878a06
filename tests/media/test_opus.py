"""libopus through ctypes on the real clip: decoding, and concealment quality FEC > PLC > zeros."""

from __future__ import annotations

import av
import numpy as np
import pytest
from rtp_source import JFK, s16

from babelroom.media.opus import OpusDecoder, OpusError, packet_samples

PRE_SKIP = 312  # libopus's algorithmic delay at 48 kHz (6.5 ms)


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    """jfk.flac at 48 kHz mono, what the encoder was given."""
    res = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    with av.open(str(JFK)) as c:
        pcm = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in res.resample(fr)]
    return np.concatenate(pcm).astype(np.float32) / 32768.0


def snr_db(decoded: np.ndarray, original: np.ndarray) -> float:
    a = decoded[PRE_SKIP : PRE_SKIP + len(original)]
    b = original[: len(a)]
    return float(10 * np.log10(np.sum(b * b) / np.sum((a - b) ** 2)))


def test_decodes_the_encoders_packets(jfk_opus, original):
    dec = OpusDecoder()
    assert {packet_samples(p) for p in jfk_opus} == {960}
    out = s16(b"".join(dec.decode(p) for p in jfk_opus))
    assert len(out) == 960 * len(jfk_opus)
    assert snr_db(out, original) > 5.0  # 32 kb/s voice mode: not waveform-exact, but the same signal


def test_fec_beats_plc_beats_zeros_on_lost_packets(jfk_opus, original):
    lost = set(range(20, len(jfk_opus) - 1, 10))  # 10 % loss, single packets

    def run(mode: str) -> float:
        dec, out = OpusDecoder(), []
        for i, p in enumerate(jfk_opus):
            if i not in lost:
                out.append(dec.decode(p))
            elif mode == "zeros":
                out.append(bytes(1920))
            else:
                out.append(dec.conceal(960, jfk_opus[i + 1] if mode == "fec" else None))
        return snr_db(s16(b"".join(out)), original)

    fec, plc, zeros = run("fec"), run("plc"), run("zeros")
    assert fec > plc + 0.5 and plc > zeros + 0.5, (fec, plc, zeros)


def test_a_corrupt_packet_raises_and_the_decoder_goes_on(jfk_opus):
    dec = OpusDecoder()
    with pytest.raises(OpusError):
        packet_samples(b"")
    with pytest.raises(OpusError) as err:
        dec.decode(bytes([0x03]))  # code 3 (arbitrary frame count) without its frame-count byte
    assert err.value.code < 0
    assert len(dec.decode(jfk_opus[100])) == 1920
    assert len(dec.conceal(480)) == 960  # 10 ms of PLC
