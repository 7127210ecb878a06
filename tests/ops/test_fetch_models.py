"""scripts/fetch_models.py: its plan, licences and config rewriting, and a clear failure without the hub.
(The downloads themselves need internet access and cannot run here.)"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import opschecks
import pytest
import yaml

SCRIPT = opschecks.ROOT / "scripts" / "fetch_models.py"
spec = importlib.util.spec_from_file_location("fetch_models", SCRIPT)
fm = importlib.util.module_from_spec(spec)
sys.modules["fetch_models"] = fm
spec.loader.exec_module(fm)

def CONVERTER(name: str) -> str:  # stands in for shutil.which
    return f"/usr/bin/{name}"


def test_output_directories_are_the_ones_the_services_read():
    assert [m.name for m in fm.MODELS] == [
        "faster-whisper-small", "nllb-200-distilled-600M-int8", "xtts-v2", "pyannote-speaker-diarization-3.1",
    ]
    from babelroom.config import Settings

    assert Settings.model_fields["mt_nllb_model"].default == "nllb-200-distilled-600M-int8"
    stack = opschecks.STACK.read_text()
    assert "BABELROOM_STT_MODEL: /models/faster-whisper-small" in stack


def test_full_plan_needs_a_token_for_pyannote_only(tmp_path):
    plan = fm.build_plan(tmp_path, environ={}, which=CONVERTER)
    assert [m.name for m in plan.fetch] == [m.name for m in fm.MODELS]
    assert len(plan.problems) == 1
    assert "HF_TOKEN" in plan.problems[0] and "pyannote/segmentation-3.0" in plan.problems[0]
    plan = fm.build_plan(tmp_path, environ={"HF_TOKEN": "hf_x"}, which=CONVERTER)
    assert plan.problems == [] and plan.token == "hf_x"
    plan = fm.build_plan(tmp_path, only=["faster-whisper-small", "xtts-v2"], environ={}, which=CONVERTER)
    assert [m.name for m in plan.fetch] == ["faster-whisper-small", "xtts-v2"] and plan.problems == []
    plan = fm.build_plan(tmp_path, token_env="MY_TOKEN", environ={"MY_TOKEN": "t"}, which=CONVERTER)
    assert plan.token == "t"


def test_unknown_model_is_refused(tmp_path):
    with pytest.raises(fm.PlanError, match="unknown model whisper-large"):
        fm.build_plan(tmp_path, only=["whisper-large"], environ={})


def test_nllb_needs_the_converter(tmp_path, monkeypatch):
    monkeypatch.setattr(fm.sys, "executable", str(tmp_path / "python"))  # nothing beside it
    plan = fm.build_plan(tmp_path, only=["nllb-200-distilled-600M-int8"], environ={}, which=lambda _: None)
    assert plan.problems and "ct2-transformers-converter" in plan.problems[0]


def test_complete_models_are_skipped_unless_forced(tmp_path):
    spec = fm.BY_NAME["faster-whisper-small"]
    target = tmp_path / spec.name
    target.mkdir()
    for f in spec.required_files:
        (target / f).write_text("x")
    plan = fm.build_plan(tmp_path, only=[spec.name], environ={})
    assert plan.fetch == [spec], "files without the completion marker (an interrupted fetch) are fetched again"
    (target / fm.COMPLETE_MARKER).write_text("{}")
    plan = fm.build_plan(tmp_path, only=[spec.name], environ={})
    assert plan.skip == [spec] and plan.fetch == []
    assert fm.build_plan(tmp_path, only=[spec.name], force=True, environ={}).fetch == [spec]
    (target / "model.bin").unlink()  # a half-fetched model is fetched again
    assert fm.build_plan(tmp_path, only=[spec.name], environ={}).fetch == [spec]


def test_pyannote_config_points_at_local_checkpoints():
    hub_config = {
        "version": "3.1.0",
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization",
                     "params": {"clustering": "AgglomerativeClustering",
                                "embedding": "pyannote/wespeaker-voxceleb-resnet34-LM",
                                "embedding_batch_size": 32, "embedding_exclude_overlap": True,
                                "segmentation": "pyannote/segmentation-3.0", "segmentation_batch_size": 32}},
        "params": {"clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7045654963945799},
                   "segmentation": {"min_duration_off": 0.0}},
    }
    out = yaml.safe_load(fm.rewrite_pyannote_config(yaml.safe_dump(hub_config),
                                                    "/models/pyannote-speaker-diarization-3.1"))
    params = out["pipeline"]["params"]
    assert params["segmentation"] == "/models/pyannote-speaker-diarization-3.1/segmentation-3.0/pytorch_model.bin"
    assert params["embedding"] == ("/models/pyannote-speaker-diarization-3.1/"
                                   "wespeaker-voxceleb-resnet34-LM/pytorch_model.bin")
    assert out["params"] == hub_config["params"]


def test_licences_markdown_lists_every_source():
    text = fm.licences_markdown(fm.MODELS, "2026-01-01T00:00:00+00:00")
    for model in fm.MODELS:
        for src in model.sources:
            assert src.repo_id in text and src.licence in text
    assert "CC-BY-NC-4.0" in text and "non-commercial" in text.lower()


def test_dry_run_prints_plan_and_licences_without_writing(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--models-dir", str(tmp_path / "m")],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "to fetch:          faster-whisper-small" in proc.stdout
    assert "| `xtts-v2` |" in proc.stdout
    assert "would fail: the pyannote models are gated" in proc.stderr
    assert not (tmp_path / "m").exists()


def test_unreachable_hub_fails_fast_with_a_clear_message(tmp_path):
    closed = f"http://127.0.0.1:{opschecks.free_port()}"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--models-dir", str(tmp_path), "--only", "faster-whisper-small",
         "--endpoint", closed],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert f"cannot reach the Hugging Face hub at {closed}" in proc.stderr
    assert "internet access" in proc.stderr
    assert not (tmp_path / "faster-whisper-small").exists()


def test_missing_token_stops_before_any_download(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--models-dir", str(tmp_path), "--only",
                           "pyannote-speaker-diarization-3.1", "--endpoint", "http://127.0.0.1:9"],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 2 and "gated" in proc.stderr and "cannot reach" not in proc.stderr
