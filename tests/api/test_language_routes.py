"""``GET /api/languages`` on the real gateway: spoken languages, their STT model, and the caption
languages each reaches over the installed backends (real Bergamot en↔pt, Debian Apertium en↔es)."""

from __future__ import annotations

from pathlib import Path

import pytest

from babelroom.models.manifest import BERGAMOT_ENPT, BERGAMOT_PTEN
from babelroom.models.offline import install
from babelroom.mt.routes import OFFERED_LANGUAGES

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture
def db_settings(db_settings):
    """The gateway's settings with the offline Bergamot en↔pt installed in its models_dir."""
    install(MODELS_DIR, [BERGAMOT_ENPT, BERGAMOT_PTEN])
    db_settings.models_dir.mkdir(parents=True, exist_ok=True)
    (db_settings.models_dir / db_settings.mt_bergamot_dir).symlink_to(MODELS_DIR / "bergamot")
    return db_settings


def test_languages_lists_routes_backends_and_licences(gateway) -> None:
    resp = gateway.get("/api/languages")
    assert resp.status_code == 200
    body = {entry["language"]: entry for entry in resp.json()}
    assert list(body) == list(OFFERED_LANGUAGES)
    assert {entry["stt_model"] for entry in body.values()} == {"small"}
    en = {t["language"]: t for t in body["en"]["targets"]}
    assert en["pt"] == {"language": "pt", "route": ["en", "pt"], "backend": "bergamot", "licence": "MPL-2.0",
                        "chrf": 58.9, "measured": True}
    assert en["es"]["backend"] == "apertium" and en["es"]["licence"] == "GPL-2.0"
    es = {t["language"]: t for t in body["es"]["targets"]}
    assert es["pt"]["route"] == ["es", "en", "pt"] and es["pt"]["backend"] == "apertium>en>bergamot"
    assert es["pt"]["licence"] == "GPL-2.0 + MPL-2.0"
    assert "vi" not in en and body["vi"]["targets"] == []  # no route: captions show the source, flagged


def test_without_models_only_apertium_routes_remain(settings, database_url, redis_url) -> None:
    from fastapi.testclient import TestClient

    from babelroom.gateway.app import create_app

    with TestClient(create_app(settings.model_copy(update={"database_url": database_url}))) as client:
        body = {entry["language"]: entry for entry in client.get("/api/languages").json()}
    assert [t["language"] for t in body["en"]["targets"]] == ["es"]
    assert body["pt"]["targets"] == []
