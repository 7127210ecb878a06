"""FallbackTranslator over real backends: an unreachable or failing LibreTranslate, Apertium, tiny NLLB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from babelroom.dev.devstack import free_port
from babelroom.mt.apertium import ApertiumTranslator
from babelroom.mt.base import TranslationError, UnsupportedLanguagePair
from babelroom.mt.fallback import FallbackTranslator
from babelroom.mt.libretranslate import LibreTranslateTranslator
from babelroom.mt.nllb import NllbTranslator


@pytest.fixture
def unreachable() -> Iterator[LibreTranslateTranslator]:
    """A LibreTranslate backend whose server is down (nothing listens on its port)."""
    client = LibreTranslateTranslator(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    yield client
    client.close()


def test_the_next_backend_serves_when_the_first_fails(
    unreachable: LibreTranslateTranslator, apertium: ApertiumTranslator, metric: Callable[..., float]
) -> None:
    chain = FallbackTranslator([unreachable, apertium])
    assert chain.name == "fallback:libretranslate,apertium"
    failed = metric("babelroom_mt_fallback_total", backend="libretranslate")
    translations, backend = chain.translate_batch_with_backend(["Hello", "Thank you"], "en", "es")
    assert backend == "apertium"
    assert "Hola" in translations[0] and "Gracias" in translations[1]
    assert metric("babelroom_mt_fallback_total", backend="libretranslate") - failed == 1
    assert chain.translate_batch(["Hello"], "en", "es") == translations[:1]


def test_every_failure_is_reported_when_all_backends_fail(
    unreachable: LibreTranslateTranslator, libretranslate_server, metric: Callable[..., float]
) -> None:
    failing = LibreTranslateTranslator(libretranslate_server.url)
    libretranslate_server.status = 503
    chain = FallbackTranslator([unreachable, failing])
    failed = metric("babelroom_mt_fallback_total", backend="libretranslate")
    with pytest.raises(TranslationError) as error:
        chain.translate_batch(["Hello"], "en", "es")
    assert "ConnectError" in str(error.value) and "HTTP 503" in str(error.value)
    assert metric("babelroom_mt_fallback_total", backend="libretranslate") - failed == 2
    failing.close()


def test_backends_without_the_pair_are_skipped_not_counted(
    apertium: ApertiumTranslator, tiny_nllb_dir: Path, metric: Callable[..., float]
) -> None:
    nllb = NllbTranslator(tiny_nllb_dir, intra_threads=1)
    chain = FallbackTranslator([apertium, nllb])
    failed = metric("babelroom_mt_fallback_total", backend="apertium")
    # Apertium has no eng-deu: NLLB serves, and Apertium did not fail.
    translations, backend = chain.translate_batch_with_backend(["Hello"], "en", "de")
    assert backend == "nllb" and len(translations) == 1
    assert metric("babelroom_mt_fallback_total", backend="apertium") == failed
    assert chain.translate_batch_with_backend(["Hello"], "en", "es")[1] == "apertium"
    nllb.close()


def test_a_pair_no_backend_has(apertium: ApertiumTranslator) -> None:
    chain = FallbackTranslator([apertium])
    assert not chain.supports("en", "de")
    with pytest.raises(UnsupportedLanguagePair):
        chain.translate_batch(["Hello"], "en", "de")
    with pytest.raises(ValueError):
        FallbackTranslator([])
