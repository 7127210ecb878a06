"""build_translator: the chain each ``mt_backends`` setting gives, real backends behind a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from babelroom.config import Settings
from babelroom.mt.factory import backend_names, build_translator


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
    assert translator.name == "fallback:nllb,apertium"
    translations, backends = translator.translate_batch_with_backends(["Hello", "Thank you"], "en", "es")
    assert backends == ["nllb", "nllb"] and len(translations) == 2
    translator.close()


def test_auto_appends_libretranslate_when_configured(settings: Settings) -> None:
    configured = settings.model_copy(update={"libretranslate_url": "http://127.0.0.1:5000"})
    assert backend_names(configured) == ["apertium", "libretranslate"]


def test_an_explicit_chain_is_kept_in_order(with_nllb: Settings, redis_client: redis.Redis) -> None:
    configured = with_nllb.model_copy(update={"mt_backends": " Apertium, nllb "})
    translator = build_translator(configured, redis_client)
    assert translator.name == "fallback:apertium,nllb"
    assert translator.translate_batch_with_backends(["Hello"], "en", "es")[1] == ["apertium"]
    assert translator.translate_batch_with_backends(["Hello"], "en", "de")[1] == ["nllb"]
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
