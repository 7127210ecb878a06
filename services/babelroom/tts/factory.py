"""Builds the speech chain the TTS worker uses, from :class:`babelroom.config.Settings`.

``tts_backends`` is a comma-separated list (``kokoro``, ``piper``, ``espeak``, ``gtts``) or ``auto``:
``kokoro`` when ``models_dir/tts_kokoro_dir`` holds its model, ``piper`` when ``models_dir/tts_piper_dir``
holds a voice, ``espeak`` when ``espeak-ng`` is installed, then ``gtts`` when ``tts_gtts_url`` is set.
Under ``auto`` each language goes to its best measured voice (:mod:`babelroom.tts.voices`); a written chain
keeps the operator's order. Either way a failing voice falls back along the chain. Models are loaded once, here;
nothing is downloaded.

In production ``auto`` without the Kokoro model stops ``babelroom tts`` (:func:`check_tts_models`, exit
78) naming the missing file and ``babelroom models install --offline``; in development it is skipped with
a warning (eSpeak NG still speaks).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import structlog

from babelroom.chains import explicit_chain
from babelroom.config import Settings
from babelroom.mt.circuit_breaker import CircuitBreaker
from babelroom.startup import EX_CONFIG, StartupError
from babelroom.tts.base import TextToSpeech
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.gtts import GoogleTextToSpeech
from babelroom.tts.kokoro import MODEL_FILE, KokoroTextToSpeech
from babelroom.tts.piper import VOICES as PIPER_VOICES
from babelroom.tts.piper import PiperTextToSpeech

log = structlog.get_logger(__name__)

BACKENDS = ("kokoro", "piper", "espeak", "gtts")


def kokoro_dir(settings: Settings) -> Path:
    """``models_dir / tts_kokoro_dir`` (an absolute ``tts_kokoro_dir`` is used as it is)."""
    return settings.models_dir / settings.tts_kokoro_dir


def piper_dir(settings: Settings) -> Path:
    """``models_dir / tts_piper_dir`` (an absolute ``tts_piper_dir`` is used as it is)."""
    return settings.models_dir / settings.tts_piper_dir


def backend_names(settings: Settings) -> list[str]:
    """The chain ``tts_backends`` asks for, ``auto`` resolved.

    Raises:
        ValueError: an empty chain or an unknown backend name.
        StartupError: in production, ``auto`` without the Kokoro model (``EX_CONFIG``).
    """
    chain = explicit_chain("tts_backends", settings.tts_backends, BACKENDS)
    if chain is not None:
        return chain
    names = []
    model = kokoro_dir(settings) / MODEL_FILE
    if model.is_file():
        names.append("kokoro")
    elif settings.environment == "production":
        raise StartupError(f"TTS model missing: looked for {model}; install it with "
                           "`babelroom models install --offline`", EX_CONFIG)
    else:
        log.warning("tts_kokoro_missing", missing=str(model),
                    hint="`babelroom models install --offline` installs it; production refuses to start without it")
    if any((piper_dir(settings) / f"{voice}.onnx").is_file() for voice in PIPER_VOICES.values()):
        names.append("piper")
    if shutil.which("espeak-ng"):
        names.append("espeak")
    if settings.tts_gtts_url:
        names.append("gtts")
    if not names:
        raise ValueError("tts_backends=auto: no backend installed (no Kokoro model, no Piper voice, no espeak-ng)")
    return names


def build_backend(name: str, settings: Settings) -> TextToSpeech:
    """One backend, its model loaded.

    Raises:
        FileNotFoundError: ``kokoro``/``piper`` without model files, ``espeak`` without espeak-ng.
        ValueError: ``gtts`` without ``tts_gtts_url``, or an unknown name.
    """
    if name == "kokoro":
        return KokoroTextToSpeech(kokoro_dir(settings), threads=settings.tts_threads)
    if name == "piper":
        return PiperTextToSpeech(piper_dir(settings), threads=settings.tts_threads)
    if name == "espeak":
        return EspeakTextToSpeech()
    if name == "gtts":
        if not settings.tts_gtts_url:
            raise ValueError("backend gtts needs BABELROOM_TTS_GTTS_URL")
        return GoogleTextToSpeech(settings.tts_gtts_url, settings.tts_gtts_timeout_s, CircuitBreaker(
            GoogleTextToSpeech.name, failure_threshold=settings.tts_gtts_breaker_failures,
            reset_timeout_s=settings.tts_gtts_breaker_reset_s,
        ))
    raise ValueError(f"unknown TTS backend {name!r}")


def build_speech(settings: Settings) -> FallbackTextToSpeech:
    """The worker's chain of every configured backend."""
    names = backend_names(settings)
    written = explicit_chain("tts_backends", settings.tts_backends, BACKENDS) is not None
    chain = FallbackTextToSpeech([build_backend(name, settings) for name in names], settings.tts_latency_budget_s,
                                 settings.tts_first_chunk_chars or settings.tts_chunk_chars,
                                 "configured" if written else "measured")
    log.info("tts_chain", backends=names, configured=settings.tts_backends,
             voices={lang: chain.voice(lang) for lang in ("en", "es", "pt", "fr", "de")})
    return chain


def check_tts_models(settings: Settings) -> None:
    """Resolve the chain before ``babelroom tts`` starts, so a missing model in production stops it
    with one line (exit 78) rather than a worker that never becomes ready.

    Raises:
        StartupError: ``EX_CONFIG``.
    """
    try:
        backend_names(settings)
    except ValueError as exc:
        raise StartupError(str(exc), EX_CONFIG) from exc
