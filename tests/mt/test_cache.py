"""CachedTranslator with a real Redis in front of real Apertium (and an unreachable LibreTranslate)."""

from __future__ import annotations

from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from babelroom.dev.devstack import free_port
from babelroom.mt.apertium import ApertiumTranslator
from babelroom.mt.cache import CachedTranslator, cache_key, normalise
from babelroom.mt.fallback import FallbackTranslator
from babelroom.mt.libretranslate import LibreTranslateTranslator


class Counts:
    """Cache hits, misses and sentences Apertium translated since creation."""

    def __init__(self, metric: Callable[..., float]) -> None:
        self._metric = metric
        self._start = self._now()

    def _now(self) -> tuple[float, float, float]:
        return (
            self._metric("babelroom_mt_cache_hits_total"),
            self._metric("babelroom_mt_cache_misses_total"),
            self._metric("babelroom_mt_sentences_total", backend="apertium"),
        )

    def since(self) -> tuple[float, ...]:
        return tuple(now - start for now, start in zip(self._now(), self._start, strict=True))


def test_a_repeated_batch_is_served_from_redis(
    apertium: ApertiumTranslator, redis_client: redis.Redis, metric: Callable[..., float]
) -> None:
    cached = CachedTranslator(apertium, redis_client, ttl_s=60)
    counts = Counts(metric)
    first, backends = cached.translate_batch_with_backends(["Hello", "Thank you"], "en", "es")
    assert backends == ["apertium", "apertium"]
    assert counts.since() == (0, 2, 2)
    assert cached.translate_batch(["Hello", "Thank you"], "en", "es") == first
    assert counts.since() == (2, 2, 2)  # two hits, and Apertium translated nothing more
    key = cache_key("apertium", "en", "es", "Hello")
    assert redis_client.get(key) == first[0].encode()
    assert 0 < redis_client.ttl(key) <= 60


def test_normalised_texts_share_one_entry(
    apertium: ApertiumTranslator, redis_client: redis.Redis, metric: Callable[..., float]
) -> None:
    cached = CachedTranslator(apertium, redis_client, ttl_s=60)
    counts = Counts(metric)
    texts = ["Good night, café.", "  Good \t night,\n cafe\u0301. "]  # spacing, NFD "é"
    assert normalise(texts[1]) == texts[0]
    assert len(set(cached.translate_batch(texts, "en", "es"))) == 1
    assert counts.since() == (0, 2, 1)  # both missed; the text was translated once
    cached.translate_batch(["Good night,   café."], "en", "es")
    assert counts.since() == (1, 2, 1)
    assert len(redis_client.keys("mt:*")) == 1


def test_keys_name_the_backend_that_served(
    apertium: ApertiumTranslator, redis_client: redis.Redis, metric: Callable[..., float]
) -> None:
    """A fallback's translation is stored under its own name, so the primary's lookups keep missing."""
    down = LibreTranslateTranslator(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    cached = CachedTranslator(FallbackTranslator([down, apertium]), redis_client, ttl_s=60)
    counts = Counts(metric)
    assert cached.translate_batch_with_backends(["Hello"], "en", "es")[1] == ["apertium"]
    assert cached.translate_batch_with_backends(["Hello"], "en", "es")[1] == ["apertium"]
    assert counts.since() == (0, 2, 2)
    assert [key.decode() for key in redis_client.keys("mt:*")] == [cache_key("apertium", "en", "es", "Hello")]
    # With Apertium first in the chain, the same entry is a hit.
    assert CachedTranslator(apertium, redis_client, ttl_s=60).translate_batch_with_backends(
        ["Hello"], "en", "es"
    )[1] == ["apertium"]
    assert counts.since() == (1, 2, 2)
    down.close()


def test_works_with_decoded_responses(apertium: ApertiumTranslator, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    cached = CachedTranslator(apertium, client, ttl_s=60)
    first = cached.translate_batch(["Hello"], "en", "es")
    assert cached.translate_batch(["Hello"], "en", "es") == first
    client.close()


def test_translates_without_redis(apertium: ApertiumTranslator, metric: Callable[..., float]) -> None:
    # No retries: redis-py's default (3, with exponential backoff) spends ~4 s per command on a dead server.
    client = redis.Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    cached = CachedTranslator(apertium, client, ttl_s=60)
    counts = Counts(metric)
    assert "Hola" in cached.translate_batch(["Hello"], "en", "es")[0]
    assert counts.since() == (0, 1, 1)
    client.close()
