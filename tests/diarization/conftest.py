"""The shared two-speaker sample and one loaded offline diarizer per session (loading takes seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babelroom.dev.eval_diarization import read_audio
from babelroom.diarization.offline import OfflineDiarizer

DATA = Path(__file__).parent.parent / "data" / "diarization"
SAMPLE_WAV = DATA / "pyannote_sample.wav"
SAMPLE_RTTM = DATA / "pyannote_sample.rttm"


@pytest.fixture(scope="session")
def sample_audio() -> np.ndarray:
    return read_audio(SAMPLE_WAV)


@pytest.fixture(scope="session")
def offline_diarizer() -> OfflineDiarizer:
    return OfflineDiarizer(None, threads=1)
