"""Shared data of the media tests: the real clip as Opus packets, and the reference segments."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rtp_source import opus_payloads  # noqa: E402

from babelroom.media.opus import OpusDecoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT / "tests" / "data" / "speech"
JFK = SPEECH / "jfk.flac"


@pytest.fixture(scope="session")
def jfk_opus() -> list[bytes]:
    """jfk.flac (11 s) as 551 Opus packets of 20 ms, with in-band FEC."""
    return opus_payloads(JFK)


@pytest.fixture(scope="session")
def jfk_decoded(jfk_opus) -> list[bytes]:
    """Each packet decoded in order by libopus: s16le 48 kHz PCM, 1920 bytes a packet."""
    dec = OpusDecoder()
    return [dec.decode(p) for p in jfk_opus]


def s16(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
