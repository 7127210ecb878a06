"""A Redis cache in front of a translation chain.

Key: ``mt:{backend}:{src}:{tgt}:{sha1 of the normalised text}``, value: the translation (UTF-8), with a
TTL. Normalisation is Unicode NFC, whitespace runs collapsed to one space, ends stripped; the chain
translates the normalised text, so the value always belongs to the key's text.

Which backend goes in the key: a lookup uses the chain's *first supporting* backend (the one that
serves when all is well); a translation is stored under the backend that *actually served* it. So a
fallback's (usually worse) translation made while the primary was failing is never returned as the
primary's: once the primary is back, its first lookup misses, the primary translates and its result is
cached. While the primary keeps failing, lookups miss and the fallback translates again, which is cheap
for the fallbacks we have (Apertium, a remote server).

A Redis failure costs the cache, not the translation: the batch is translated as if nothing was cached.
"""

from __future__ import annotations

import hashlib
import unicodedata

import redis
import structlog

from babelroom.metrics import MT_CACHE_HITS, MT_CACHE_MISSES
from babelroom.mt.base import Translator, UnsupportedLanguagePair
from babelroom.mt.fallback import FallbackTranslator

log = structlog.get_logger(__name__)


def normalise(text: str) -> str:
    """NFC, whitespace runs → one space, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def cache_key(backend: str, src: str, tgt: str, normalised: str) -> str:
    """``mt:{backend}:{src}:{tgt}:{sha1 hex of the normalised text}``."""
    return f"mt:{backend}:{src}:{tgt}:{hashlib.sha1(normalised.encode()).hexdigest()}"


class CachedTranslator(Translator):
    """Caches the translations of ``inner`` in Redis for ``ttl_s`` seconds.

    Args:
        inner: a FallbackTranslator, or a single backend (wrapped in a one-backend chain).
        redis_client: a sync client (``decode_responses`` either way); not closed by :meth:`close`.
        ttl_s: lifetime of a cached translation (s).
    """

    def __init__(self, inner: Translator, redis_client: redis.Redis, ttl_s: int) -> None:
        self.chain = inner if isinstance(inner, FallbackTranslator) else FallbackTranslator([inner])
        self.name = self.chain.name
        self._redis = redis_client
        self.ttl_s = ttl_s

    def supports(self, src: str, tgt: str) -> bool:
        return self.chain.supports(src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return self.translate_batch_with_backends(texts, src, tgt)[0]

    def translate_batch_with_backends(
        self, texts: list[str], src: str, tgt: str
    ) -> tuple[list[str], list[str]]:
        """Translate ``texts``, from the cache where possible.

        Each input counts as one hit or one miss. Misses are de-duplicated and go to the chain in one batch.

        Returns:
            The translations (one per input, in order) and, per input, the backend that made it.

        Raises:
            UnsupportedLanguagePair: no backend of the chain supports the pair.
            TranslationError: a miss could not be translated by any backend.
        """
        supporting = self.chain.supporting(src, tgt)
        if not supporting:
            raise UnsupportedLanguagePair(f"{self.name}: no backend for {src}→{tgt}")
        lookup_backend = supporting[0].name
        normalised = [normalise(text) for text in texts]
        unique = list(dict.fromkeys(normalised))
        cached = self._get([cache_key(lookup_backend, src, tgt, text) for text in unique])
        found = {
            text: (translation, lookup_backend)
            for text, translation in zip(unique, cached, strict=True)
            if translation is not None
        }
        hits = sum(text in found for text in normalised)
        MT_CACHE_HITS.inc(hits)
        MT_CACHE_MISSES.inc(len(normalised) - hits)
        misses = [text for text in unique if text not in found]
        if misses:
            translations, backend = self.chain.translate_batch_with_backend(misses, src, tgt)
            for text, translation in zip(misses, translations, strict=True):
                found[text] = (translation, backend)
            self._set({cache_key(backend, src, tgt, text): found[text][0] for text in misses})
        return [found[text][0] for text in normalised], [found[text][1] for text in normalised]

    def close(self) -> None:
        self.chain.close()

    def _get(self, keys: list[str]) -> list[str | None]:
        try:
            values = self._redis.mget(keys) if keys else []
        except redis.RedisError as exc:
            log.warning("mt_cache_unavailable", op="mget", error=str(exc))
            return [None] * len(keys)
        return [value.decode() if isinstance(value, bytes) else value for value in values]

    def _set(self, items: dict[str, str]) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, value, ex=self.ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("mt_cache_unavailable", op="set", error=str(exc))
