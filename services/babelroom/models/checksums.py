"""SHA-256 of model files, read in chunks so that a progress bar can follow.

A check compares size first (free) and then the SHA-256 (one read of the file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20  # bytes per read

#: Called with the number of bytes just read (a Rich ``progress.advance`` fits).
Advance = Callable[[int], object]


def no_progress(_: int) -> None:
    return None


def sha256_file(path: Path, advance: Advance = no_progress) -> str:
    """The SHA-256 (hex) of ``path``.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def matches(path: Path, sha256: str, size: int, advance: Advance = no_progress) -> bool:
    """Whether ``path`` exists with exactly ``size`` bytes and SHA-256 ``sha256``."""
    try:
        if path.stat().st_size != size:
            return False
        return sha256_file(path, advance) == sha256
    except OSError:
        return False


class ChecksumMismatch(ValueError):
    """A file does not have the SHA-256 or size the manifest records."""
