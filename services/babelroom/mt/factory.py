"""Builds the cached, routed translator the MT worker uses, from :class:`babelroom.config.Settings`.

``mt_backends`` is a comma-separated list (``nllb``, ``bergamot``, ``apertium``, ``libretranslate``) or
``auto``: ``nllb`` when ``models_dir/mt_nllb_model/model.bin`` exists, ``bergamot`` when
``models_dir/mt_bergamot_dir`` holds a model, ``apertium`` (local and cheap), then ``libretranslate`` when
``libretranslate_url`` is set. Each pair then goes by its best route (:mod:`babelroom.mt.routes`, by
measured chrF), falling back to the next route when a backend fails; the list order breaks ties.

In production (``environment``) ``auto`` does not silently skip a missing NLLB model, and a chain with
``nllb`` needs a model that loads: :func:`check_mt_models` (run by ``babelroom mt`` before it starts)
stops the worker with one line naming what is missing, where it looked and ``make models`` (exit 78).
In development a missing model drops ``nllb`` from ``auto`` with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis
import structlog

from babelroom.chains import explicit_chain
from babelroom.config import Settings
from babelroom.mt.apertium import ApertiumTranslator, installed_pairs
from babelroom.mt.base import Translator
from babelroom.mt.bergamot import BergamotTranslator, installed_directions
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.circuit_breaker import CircuitBreaker
from babelroom.mt.languages import FLORES200
from babelroom.mt.libretranslate import LibreTranslateTranslator
from babelroom.mt.nllb import NllbTranslator
from babelroom.mt.routes import Capabilities, RoutedTranslator
from babelroom.startup import EX_CONFIG, StartupError

log = structlog.get_logger(__name__)

BACKENDS = ("nllb", "bergamot", "apertium", "libretranslate")


def nllb_model_dir(settings: Settings) -> Path:
    """``models_dir / mt_nllb_model`` (an absolute ``mt_nllb_model`` is used as it is)."""
    return settings.models_dir / settings.mt_nllb_model


def bergamot_root(settings: Settings) -> Path:
    """``models_dir / mt_bergamot_dir`` (an absolute ``mt_bergamot_dir`` is used as it is)."""
    return settings.models_dir / settings.mt_bergamot_dir


def backend_names(settings: Settings) -> list[str]:
    """The chain ``mt_backends`` asks for, ``auto`` resolved.

    Raises:
        ValueError: an empty chain or an unknown backend name.
        StartupError: in production, ``auto`` without the NLLB model (``EX_CONFIG``).
    """
    chain = explicit_chain("mt_backends", settings.mt_backends, BACKENDS)
    if chain is None:
        names = ["apertium"]
        if installed_directions(bergamot_root(settings)):
            names.insert(0, "bergamot")
        model_bin = nllb_model_dir(settings) / "model.bin"
        if model_bin.is_file():
            names.insert(0, "nllb")
        elif settings.environment == "production":
            raise StartupError(_missing(settings, f"looked for {model_bin}"), EX_CONFIG)
        else:
            log.warning("mt_nllb_missing_using_apertium", missing=str(model_bin),
                        hint="DEVELOPMENT FALLBACK: `make models` fetches NLLB; production refuses to start "
                        "without it (or set BABELROOM_MT_BACKENDS=bergamot,apertium)")
        if settings.libretranslate_url:
            names.append("libretranslate")
        return names
    return chain


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
    if name == "bergamot":
        return BergamotTranslator(bergamot_root(settings), breaker=CircuitBreaker(BergamotTranslator.name))
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


def installed_capabilities(settings: Settings) -> Capabilities:
    """``supports(src, tgt)`` of each configured local backend, read from the files on disk without
    loading a model (the gateway's ``/api/languages``). ``libretranslate`` is left out: what it
    serves is only known by asking the server."""
    capabilities: dict[str, set[tuple[str, str]] | None] = {}
    for name in backend_names(settings):
        if name == "nllb":
            capabilities[name] = None  # every FLORES-200 pair
        elif name == "bergamot":
            capabilities[name] = set(installed_directions(bergamot_root(settings)))
        elif name == "apertium":
            capabilities[name] = set(installed_pairs())

    def supports(pairs: set[tuple[str, str]] | None) -> Callable[[str, str], bool]:
        if pairs is None:
            return lambda src, tgt: src != tgt and src in FLORES200 and tgt in FLORES200
        return lambda src, tgt: (src, tgt) in pairs

    return {name: supports(pairs) for name, pairs in capabilities.items()}


def build_translator(settings: Settings, redis_client: redis.Redis) -> CachedTranslator:
    """The worker's translator: the routed backends behind the Redis cache."""
    names = backend_names(settings)
    chain = RoutedTranslator([build_backend(name, settings) for name in names])
    log.info(
        "mt_chain",
        backends=names,
        configured=settings.mt_backends,
        nllb_model=str(nllb_model_dir(settings)) if "nllb" in names else None,
        cache_ttl_s=settings.mt_cache_ttl_s,
    )
    return CachedTranslator(chain, redis_client, settings.mt_cache_ttl_s)


def _missing(settings: Settings, what: str) -> str:
    return (f"MT model {settings.mt_nllb_model!r} (BABELROOM_MT_NLLB_MODEL) missing or broken: {what}; "
            "fetch it with `make models`")


def check_mt_models(settings: Settings) -> None:
    """In production, load each model the chain needs once (then free it), so that a missing or broken
    NLLB model stops ``babelroom mt`` before it starts; nothing in development.

    Raises:
        StartupError: ``EX_CONFIG``, naming the model, where it was looked for and ``make models``.
    """
    if settings.environment != "production" or "nllb" not in backend_names(settings):
        return
    try:
        build_backend("nllb", settings).close()
    except (FileNotFoundError, RuntimeError, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StartupError(_missing(settings, f"{nllb_model_dir(settings)}: {reason}"), EX_CONFIG) from exc
