"""``GET /api/languages`` on the real gateway: spoken languages, their STT model, and the caption
languages each reaches over the installed backends (real Bergamot en↔pt, Debian Apertium en↔es, fr↔es
and es↔pt, the offline Whisper base and the bundled tiny.en)."""

from __future__ import annotations

from pathlib import Path

import pytest

from babelroom.models.manifest import BERGAMOT_ENPT, BERGAMOT_PTEN, WHISPER_BASE, WHISPER_BASE_DIR
from babelroom.models.offline import install
from babelroom.mt.routes import OFFERED_LANGUAGES
from babelroom.stt.models import BUNDLED_MODEL_NAME, SERVED_MODELS_KEY

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture
def db_settings(db_settings):
    """The gateway's settings with the offline Bergamot en↔pt and Whisper base installed in its models_dir."""
    install(MODELS_DIR, [BERGAMOT_ENPT, BERGAMOT_PTEN, WHISPER_BASE])
    db_settings.models_dir.mkdir(parents=True, exist_ok=True)
    (db_settings.models_dir / db_settings.mt_bergamot_dir).symlink_to(MODELS_DIR / "bergamot")
    (db_settings.models_dir / WHISPER_BASE_DIR).symlink_to(MODELS_DIR / WHISPER_BASE_DIR)
    return db_settings


def test_languages_lists_routes_backends_and_licences(gateway) -> None:
    resp = gateway.get("/api/languages")
    assert resp.status_code == 200
    body = {entry["language"]: entry for entry in resp.json()}
    assert list(body) == list(OFFERED_LANGUAGES)
    # stt_model=auto: English keeps tiny.en (measured better and faster than base), the rest get base.
    assert {lang: entry["stt_model"] for lang, entry in body.items()} == {
        lang: BUNDLED_MODEL_NAME if lang == "en" else "base" for lang in OFFERED_LANGUAGES}
    en = {t["language"]: t for t in body["en"]["targets"]}
    assert en["pt"] == {"language": "pt", "route": ["en", "pt"], "backend": "bergamot", "licence": "MPL-2.0",
                        "chrf": 58.9, "measured": True}
    # en→es: Bergamot to Portuguese, then Apertium's pt→es measures above Apertium's en→es.
    assert en["es"]["route"] == ["en", "pt", "es"] and en["es"]["backend"] == "bergamot>pt>apertium"
    assert en["es"]["licence"] == "MPL-2.0 + GPL-2.0" and en["es"]["chrf"] == 54.4
    es = {t["language"]: t for t in body["es"]["targets"]}
    assert es["en"]["route"] == ["es", "pt", "en"] and es["en"]["backend"] == "apertium>pt>bergamot"
    assert es["en"]["licence"] == "GPL-2.0 + MPL-2.0"
    assert es["pt"]["route"] == ["es", "pt"] and es["pt"]["backend"] == "apertium"  # a tie with the pivot
    # French, through Debian's apertium-fr-es (and -es-pt): it reaches en, es and pt, and they reach it.
    fr = {t["language"]: t for t in body["fr"]["targets"]}
    assert sorted(fr) == ["en", "es", "pt"] and fr["es"]["backend"] == "apertium"
    assert fr["en"]["route"] == ["fr", "es", "pt", "en"] and fr["en"]["measured"] and fr["en"]["chrf"] == 47.1
    assert all("fr" in {t["language"] for t in body[src]["targets"]} for src in ("en", "es", "pt"))
    assert "vi" not in en and body["vi"]["targets"] == []  # no route: captions show the source, flagged


def test_without_models_only_apertium_routes_remain(settings, database_url, redis_url) -> None:
    from fastapi.testclient import TestClient

    from babelroom.gateway.app import create_app

    with TestClient(create_app(settings.model_copy(update={"database_url": database_url}))) as client:
        body = {entry["language"]: entry for entry in client.get("/api/languages").json()}
    # Debian's apertium-eng-spa, -fr-es and -es-pt: English reaches Portuguese and French through Spanish.
    assert sorted(t["language"] for t in body["en"]["targets"]) == ["es", "fr", "pt"]
    assert {t["language"]: t["backend"] for t in body["pt"]["targets"]} == {
        "es": "apertium", "en": "apertium>es>apertium", "fr": "apertium>es>apertium"}
    assert body["de"]["targets"] == [] and body["vi"]["targets"] == []


def test_languages_report_the_models_the_stt_workers_serve(gateway, db_settings) -> None:
    import redis

    # What the running STT workers wrote as they started wins over the gateway's own look-up.
    with redis.Redis.from_url(db_settings.redis_url) as client:
        client.hset(SERVED_MODELS_KEY, mapping={"es": "small", "en": "small"})
    body = {entry["language"]: entry["stt_model"] for entry in gateway.get("/api/languages").json()}
    assert (body["es"], body["en"], body["de"]) == ("small", "small", "base")


def test_languages_follow_the_per_language_setting(gateway, db_settings) -> None:
    import redis

    with redis.Redis.from_url(db_settings.redis_url) as client:
        client.delete(SERVED_MODELS_KEY)  # no STT worker started
    gateway.app.state.settings.stt_models = {"en": "base", "de": str(MODELS_DIR / WHISPER_BASE_DIR)}
    body = {entry["language"]: entry["stt_model"] for entry in gateway.get("/api/languages").json()}
    assert (body["en"], body["de"], body["es"]) == ("base", WHISPER_BASE_DIR, "base")
