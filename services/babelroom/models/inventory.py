"""What is installed under ``models_dir``: every model Babelroom knows (offline wheels and
``models fetch``), with where it is, its licence and whether that licence allows commercial use."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from babelroom.models import fetch
from babelroom.models.manifest import OFFLINE_MODELS
from babelroom.models.offline import is_installed

#: Licences under which the weights may not be used commercially.
NON_COMMERCIAL = ("CC-BY-NC", "CPML")


def commercial_use(licence: str) -> bool:
    """Whether ``licence`` (an SPDX-like name) allows commercial use of the model's outputs."""
    return not any(marker in licence for marker in NON_COMMERCIAL)


@dataclass(frozen=True)
class InstalledModel:
    """One row of ``babelroom models list``."""

    name: str
    path: str  # absolute
    installed: bool
    source: str  # "offline" (from wheels) or "fetch" (downloaded on a connected machine)
    licence: str
    commercial: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def inventory(models_dir: Path) -> list[InstalledModel]:
    """Every known model, installed or not; an offline model's directory that ``fetch`` also fills
    (``bergamot/enpt``) is listed once, as offline."""
    rows = [
        InstalledModel(m.name, str((models_dir / m.directory).resolve()), is_installed(models_dir, m), "offline",
                       m.licence, m.commercial)
        for m in OFFLINE_MODELS
    ]
    seen = {m.directory for m in OFFLINE_MODELS}
    for spec in fetch.MODELS:
        if spec.path in seen:
            continue
        licence = " + ".join(sorted({s.licence for s in spec.sources}))
        rows.append(
            InstalledModel(spec.name, str((models_dir / spec.path).resolve()),
                           fetch.is_complete(models_dir / spec.path, spec), "fetch", licence, commercial_use(licence))
        )
    return rows
