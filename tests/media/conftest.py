"""Shared data of the media tests: the real clip as Opus packets, and the reference segments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rtp_source import JFK, opus_payloads  # noqa: E402

from babelroom.media.opus import OpusDecoder  # noqa: E402


@pytest.fixture(scope="session")
def jfk_opus() -> list[bytes]:
    """jfk.flac (11 s) as 551 Opus packets of 20 ms, with in-band FEC."""
    return opus_payloads(JFK)


@pytest.fixture(scope="session")
def jfk_decoded(jfk_opus) -> list[bytes]:
    """Each packet decoded in order by libopus: s16le 48 kHz PCM, 1920 bytes a packet."""
    dec = OpusDecoder()
    return [dec.decode(p) for p in jfk_opus]
