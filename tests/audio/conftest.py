"""Shared data of the audio tests: real speech clips and the demo clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babelroom.audio.pcm import decode_file

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT / "tests" / "data" / "speech"
DEMO_WAV = ROOT / "assets" / "demo" / "demo_en.wav"


@pytest.fixture(scope="session")
def demo_audio() -> np.ndarray:
    """The demo clip, ``(n,) float32`` 16 kHz (about 60 s)."""
    return decode_file(DEMO_WAV)
