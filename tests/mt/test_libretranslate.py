"""LibreTranslateTranslator against a stand-in LibreTranslate server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from babelroom.config import Settings
from babelroom.dev.devstack import free_port
from babelroom.mt.base import TranslationError, UnsupportedLanguagePair
from babelroom.mt.circuit_breaker import CircuitBreaker, CircuitOpen, State
from babelroom.mt.factory import build_backend
from babelroom.mt.libretranslate import LibreTranslateTranslator


def test_posts_the_batch_and_returns_one_translation_each(
    libretranslate_server, metric: Callable[..., float]
) -> None:
    client = LibreTranslateTranslator(libretranslate_server.url, api_key="secret")
    before = metric("babelroom_mt_sentences_total", backend="libretranslate")
    assert client.translate_batch(["Hello", "World"], "en", "es") == ["[es] Hello", "[es] World"]
    assert libretranslate_server.requests[-1] == (
        "POST /translate",
        {"q": ["Hello", "World"], "source": "en", "target": "es", "format": "text", "api_key": "secret"},
    )
    assert metric("babelroom_mt_sentences_total", backend="libretranslate") - before == 2
    client.close()


def test_supports_the_pairs_the_server_lists(libretranslate_server) -> None:
    client = LibreTranslateTranslator(libretranslate_server.url)
    assert client.supports("en", "es") and client.supports("es", "en")
    assert client.supports("en", "zh") and client.supports("zh", "en")  # listed as zh-Hans
    assert not client.supports("es", "zh") and not client.supports("en", "de")
    with pytest.raises(UnsupportedLanguagePair):
        client.translate_batch(["Hallo"], "de", "en")
    assert [r for r, _ in libretranslate_server.requests].count("GET /languages") == 1
    client.close()


def test_server_errors_open_the_breaker(libretranslate_server, metric: Callable[..., float]) -> None:
    breaker = CircuitBreaker("libretranslate", failure_threshold=2, reset_timeout_s=60)
    client = LibreTranslateTranslator(libretranslate_server.url, breaker=breaker)
    client.supports("en", "es")
    libretranslate_server.status = 500
    for _ in range(2):
        with pytest.raises(TranslationError, match="HTTP 500"):
            client.translate_batch(["Hello"], "en", "es")
    assert breaker.state is State.OPEN
    assert metric("babelroom_mt_circuit_open", backend="libretranslate") == 1
    sent = len(libretranslate_server.requests)
    with pytest.raises(CircuitOpen):
        client.translate_batch(["Hello"], "en", "es")
    assert len(libretranslate_server.requests) == sent  # refused without a request
    client.close()


def test_a_malformed_answer_is_a_translation_error(libretranslate_server) -> None:
    client = LibreTranslateTranslator(libretranslate_server.url)
    libretranslate_server.body = {"translatedText": "not a list"}
    with pytest.raises(TranslationError, match="unexpected answer"):
        client.translate_batch(["Hello"], "en", "es")
    client.close()


def test_an_unreachable_server_fails_fast() -> None:
    client = LibreTranslateTranslator(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    assert client.supports("en", "es")  # unknown while unreachable: the call decides
    with pytest.raises(TranslationError, match="ConnectError"):
        client.translate_batch(["Hello"], "en", "es")
    client.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers; its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        while not closing.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    closing.set()
    listener.close()
    for conn in held:
        conn.close()


def test_a_silent_server_costs_little_and_opens_the_breaker(silent_server: str, tmp_path: Path) -> None:
    """A LibreTranslate that accepts and never answers once stalled MT 27.6 s (5 s timeout, 5 failures)."""
    settings = Settings(libretranslate_url=silent_server, models_dir=tmp_path, state_dir=tmp_path)
    client = build_backend("libretranslate", settings)
    assert isinstance(client, LibreTranslateTranslator)
    started = time.monotonic()
    calls = 0
    while True:
        calls += 1
        call_started = time.monotonic()
        with pytest.raises(TranslationError) as failure:
            client.translate_batch(["Hello"], "en", "es")
        assert time.monotonic() - call_started < 2 * settings.libretranslate_timeout_s + 0.5
        if isinstance(failure.value, CircuitOpen) or calls > 10:
            break
    stalled = time.monotonic() - started
    assert client.breaker.state is State.OPEN
    assert stalled < settings.libretranslate_breaker_failures * settings.libretranslate_timeout_s + 1.0
    client.close()
