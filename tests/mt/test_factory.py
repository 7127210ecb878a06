"""build_translator: the backends each ``mt_backends`` setting gives, routed by chrF, real backends
behind a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from babelroom.config import Settings
from babelroom.mt.base import UnsupportedLanguagePair
from babelroom.mt.factory import backend_names, build_translator, installed_capabilities


@pytest.fixture
def with_nllb(settings: Settings, tiny_nllb_dir: Path) -> Settings:
    """Settings whose models_dir holds the tiny NLLB under the configured model name."""
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    (settings.models_dir / settings.mt_nllb_model).symlink_to(tiny_nllb_dir)
    return settings


def test_auto_without_the_nllb_model_is_apertium(settings: Settings) -> None:
    assert backend_names(settings) == ["apertium"]


def test_auto_with_the_nllb_model_puts_it_first(with_nllb: Settings, redis_client: redis.Redis) -> None:
    assert backend_names(with_nllb) == ["nllb", "apertium"]
    translator = build_translator(with_nllb, redis_client)
    assert translator.name == "routes:nllb,apertium"
    translations, backends = translator.translate_batch_with_backends(["Hello", "Thank you"], "en", "es")
    assert backends == ["nllb", "nllb"] and len(translations) == 2
    translator.close()


def test_auto_appends_libretranslate_when_configured(settings: Settings) -> None:
    configured = settings.model_copy(update={"libretranslate_url": "http://127.0.0.1:5000"})
    assert backend_names(configured) == ["apertium", "libretranslate"]


def test_an_explicit_list_is_kept_and_routes_pick_by_chrf(with_nllb: Settings, redis_client: redis.Redis) -> None:
    configured = with_nllb.model_copy(update={"mt_backends": " Apertium, nllb "})
    translator = build_translator(configured, redis_client)
    assert translator.name == "routes:apertium,nllb"
    assert translator.translate_batch_with_backends(["Hello"], "en", "de")[1] == ["nllb"]
    translator.close()
    only_apertium = build_translator(with_nllb.model_copy(update={"mt_backends": "apertium"}), redis_client)
    assert only_apertium.translate_batch_with_backends(["Hello"], "en", "es")[1] == ["apertium"]
    with pytest.raises(UnsupportedLanguagePair):
        only_apertium.translate_batch_with_backends(["Hello"], "en", "de")
    only_apertium.close()


def test_auto_adds_bergamot_when_its_models_are_installed(
    settings: Settings, bergamot_root: Path, redis_client: redis.Redis
) -> None:
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    (settings.models_dir / settings.mt_bergamot_dir).symlink_to(bergamot_root)
    assert backend_names(settings) == ["bergamot", "apertium"]
    capabilities = installed_capabilities(settings)
    assert capabilities["bergamot"]("en", "pt") and not capabilities["bergamot"]("en", "es")
    assert capabilities["apertium"]("en", "es")
    translator = build_translator(settings, redis_client)
    assert translator.translate_batch_with_backends(["Gracias."], "es", "en")[1] == ["apertium>pt>bergamot"]
    translator.close()


@pytest.mark.parametrize(
    ("update", "error"),
    [
        ({"mt_backends": "apertium,bogus"}, ValueError),
        ({"mt_backends": " , "}, ValueError),
        ({"mt_backends": "libretranslate"}, ValueError),
        ({"mt_backends": "nllb"}, FileNotFoundError),
    ],
)
def test_misconfigurations_fail_at_start(
    settings: Settings, redis_client: redis.Redis, update: dict[str, str], error: type
) -> None:
    with pytest.raises(error):
        build_translator(settings.model_copy(update=update), redis_client)
