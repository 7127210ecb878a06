"""Builds the cached fallback chain the MT worker uses, from :class:`babelroom.config.Settings`.

``mt_backends`` is a comma-separated chain (``nllb``, ``apertium``, ``libretranslate``) or ``auto``:
``nllb`` first when ``models_dir/mt_nllb_model/model.bin`` exists, then ``apertium`` (local and cheap, it
serves the pairs it has when NLLB fails or is absent), then ``libretranslate`` when ``libretranslate_url``
is set.
"""

from __future__ import annotations

from pathlib import Path

import redis
import structlog

from babelroom.config import Settings
from babelroom.mt.apertium import ApertiumTranslator
from babelroom.mt.base import Translator
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.circuit_breaker import CircuitBreaker
from babelroom.mt.fallback import FallbackTranslator
from babelroom.mt.libretranslate import LibreTranslateTranslator
from babelroom.mt.nllb import NllbTranslator

log = structlog.get_logger(__name__)

BACKENDS = ("nllb", "apertium", "libretranslate")


def nllb_model_dir(settings: Settings) -> Path:
    """``models_dir / mt_nllb_model`` (an absolute ``mt_nllb_model`` is used as it is)."""
    return settings.models_dir / settings.mt_nllb_model


def backend_names(settings: Settings) -> list[str]:
    """The chain ``mt_backends`` asks for, ``auto`` resolved.

    Raises:
        ValueError: an empty chain or an unknown backend name.
    """
    value = settings.mt_backends.strip().lower()
    if value == "auto":
        names = ["apertium"]
        if (nllb_model_dir(settings) / "model.bin").is_file():
            names.insert(0, "nllb")
        if settings.libretranslate_url:
            names.append("libretranslate")
        return names
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if not names or unknown:
        raise ValueError(
            f"mt_backends={settings.mt_backends!r}: use auto or a chain of {', '.join(BACKENDS)}"
        )
    return names


def build_backend(name: str, settings: Settings) -> Translator:
    """One backend, configured from ``settings``.

    Raises:
        FileNotFoundError: ``nllb`` without its model files.
        ValueError: ``libretranslate`` without ``libretranslate_url``, or an unknown name.
    """
    if name == "nllb":
        return NllbTranslator(
            nllb_model_dir(settings), beam_size=settings.mt_beam_size, batch_size=settings.mt_batch_size
        )
    if name == "apertium":
        return ApertiumTranslator()
    if name == "libretranslate":
        if not settings.libretranslate_url:
            raise ValueError("backend libretranslate needs BABELROOM_LIBRETRANSLATE_URL")
        return LibreTranslateTranslator(
            settings.libretranslate_url,
            settings.libretranslate_api_key,
            timeout_s=settings.libretranslate_timeout_s,
            breaker=CircuitBreaker(
                LibreTranslateTranslator.name,
                failure_threshold=settings.libretranslate_breaker_failures,
                reset_timeout_s=settings.libretranslate_breaker_reset_s,
            ),
        )
    raise ValueError(f"unknown MT backend {name!r}")


def build_translator(settings: Settings, redis_client: redis.Redis) -> CachedTranslator:
    """The worker's translator: the configured chain behind the Redis cache."""
    names = backend_names(settings)
    chain = FallbackTranslator([build_backend(name, settings) for name in names])
    log.info(
        "mt_chain",
        backends=names,
        configured=settings.mt_backends,
        nllb_model=str(nllb_model_dir(settings)) if "nllb" in names else None,
        cache_ttl_s=settings.mt_cache_ttl_s,
    )
    return CachedTranslator(chain, redis_client, settings.mt_cache_ttl_s)
