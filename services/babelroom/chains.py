"""Backend chains named in settings (``mt_backends``, ``tts_backends``): ``auto`` or a comma list."""

from __future__ import annotations

from collections.abc import Sequence


def explicit_chain(setting: str, value: str, backends: Sequence[str]) -> list[str] | None:
    """The backend names of a comma-separated chain, in order; ``None`` for ``auto`` (case-insensitive).

    Args:
        setting: the setting's name, for the error message (e.g. ``"tts_backends"``).
        value: its value, e.g. ``"piper, espeak"``.
        backends: the names allowed.

    Raises:
        ValueError: an empty chain or an unknown backend name.
    """
    value = value.strip().lower()
    if value == "auto":
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or set(names) - set(backends):
        raise ValueError(f"{setting}={value!r}: use auto or a chain of {', '.join(backends)}")
    return names
