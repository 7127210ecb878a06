"""Production has no silent NLLB fallback: ``babelroom mt`` (the real CLI, a subprocess) stops with one
line and exit 78 when the NLLB model is missing (``auto`` included) or broken; development drops NLLB
from ``auto`` with a loud warning."""

from __future__ import annotations

import shutil
from pathlib import Path

from structlog.testing import capture_logs
from tests.test_startup import STRONG, babelroom, one_line

from babelroom.config import Settings
from babelroom.mt.factory import backend_names, check_mt_models
from babelroom.startup import EX_CONFIG


def production(redis_url: str, models_dir: Path, **env: str) -> dict[str, str]:
    return {"BABELROOM_ENVIRONMENT": "production", "BABELROOM_JWT_SECRET": STRONG, "BABELROOM_REDIS_URL": redis_url,
            "BABELROOM_MODELS_DIR": str(models_dir), "BABELROOM_MT_NLLB_MODEL": "nllb", **env}


def test_production_refuses_auto_without_the_nllb_model(redis_url, tmp_path):
    result = babelroom("mt", **production(redis_url, tmp_path))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    line = one_line(result)
    assert f"looked for {tmp_path / 'nllb' / 'model.bin'}" in line and "`make models`" in line


def test_production_refuses_a_broken_nllb_model(redis_url, tmp_path, tiny_nllb_dir):
    shutil.copytree(tiny_nllb_dir, tmp_path / "nllb")
    model_bin = tmp_path / "nllb" / "model.bin"
    model_bin.write_bytes(model_bin.read_bytes()[: model_bin.stat().st_size // 2])
    result = babelroom("mt", **production(redis_url, tmp_path, BABELROOM_MT_BACKENDS="nllb,apertium"))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    assert f"{tmp_path / 'nllb'}: " in one_line(result)


def test_a_good_model_passes_and_development_falls_back_loudly(tmp_path, tiny_nllb_dir):
    (tmp_path / "nllb").symlink_to(tiny_nllb_dir)
    check_mt_models(Settings(environment="production", models_dir=tmp_path, mt_nllb_model="nllb"))
    with capture_logs() as logs:
        assert backend_names(Settings(models_dir=tmp_path / "empty")) == ["apertium"]
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"] == "mt_nllb_missing_using_apertium" and "DEVELOPMENT FALLBACK" in warning["hint"]
