"""Which model hears which language (``stt_models``, ``stt_model``, ``auto``); no model is loaded here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from babelroom.config import Settings
from babelroom.mt.routes import OFFERED_LANGUAGES
from babelroom.startup import EX_CONFIG, StartupError
from babelroom.stt.models import BUNDLED_MODEL_NAME, resolve_model, resolve_models, served_languages


def test_the_per_language_setting_wins_over_the_default(tmp_path, link_model):
    link_model(tmp_path, "small")
    link_model(tmp_path, "medium")
    settings = Settings(models_dir=tmp_path, stt_model="small", stt_models={"de": "medium"})
    assert resolve_model(settings, "de").name == "medium"
    assert resolve_model(settings, "es").name == "small"
    assert resolve_model(settings, "auto").name == "small"


def test_models_json_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BABELROOM_STT_MODELS", '{"en": "tiny.en", "auto": "base"}')
    assert Settings(models_dir=tmp_path).stt_models == {"en": "tiny.en", "auto": "base"}
    monkeypatch.setenv("BABELROOM_STT_MODELS", '{"EN": "tiny.en", "*": "base"}')
    with pytest.raises(ValidationError, match=r"ISO 639 codes .* got \['EN', '\*'\]"):
        Settings(models_dir=tmp_path)


def test_auto_takes_the_best_installed_model_of_each_language(tmp_path, link_model):
    link_model(tmp_path, "base")  # as `whisper-base` would be found too: faster-whisper-base
    settings = Settings(models_dir=tmp_path)  # stt_model=auto
    models = resolve_models(settings)
    assert models["en"].name == BUNDLED_MODEL_NAME and not models["en"].fallback  # tiny.en: measured best
    assert {models[lang].name for lang in OFFERED_LANGUAGES if lang != "en"} == {"base"}
    assert models["auto"].name == "base"
    link_model(tmp_path, "small")
    assert resolve_model(settings, "es").name == "small"
    assert resolve_model(settings, "en").name == BUNDLED_MODEL_NAME


def test_names_resolve_to_the_offline_install_and_to_make_models_directories(tmp_path, link_model):
    offline = link_model(tmp_path, "base").rename(tmp_path / "whisper-base")  # babelroom models install --offline
    assert resolve_model(Settings(models_dir=tmp_path, stt_model="base")).path == offline
    assert resolve_model(Settings(models_dir=tmp_path, stt_model="whisper-base")).path == offline


def test_served_languages_are_the_offered_ones_the_named_ones_and_language_id():
    settings = Settings(stt_models={"it": "base"})
    assert served_languages(settings) == [*OFFERED_LANGUAGES, "it", "auto"]


def test_production_names_every_candidate_of_auto_it_looked_for(tmp_path):
    with pytest.raises(StartupError) as caught:
        resolve_model(Settings(environment="production", models_dir=tmp_path), "es")
    assert caught.value.exit_code == EX_CONFIG
    message = str(caught.value)
    assert "auto (small, base)" in message and "'es'" in message and "`make models`" in message
    assert str(tmp_path / "whisper-base" / "model.bin") in message
    assert "\n" not in message
