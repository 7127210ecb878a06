"""The manifests of ``babelroom eval``: which clips to stream, in what language, and what was said.

A manifest is a UTF-8 TSV file with this header row and one row per clip::

    audio<TAB>language<TAB>reference<TAB>translation

- ``audio``: a wav/flac/mp3/ogg file, relative to the manifest's folder (or absolute);
- ``language``: what is spoken, ISO 639-1 (``en``, ``es`` …);
- ``reference``: the words spoken (any case and punctuation: scoring normalises them);
- ``translation`` (column optional, cell may be empty): a reference translation into the eval's
  target language for that clip's language.

Blank lines and lines starting with ``#`` are skipped. See ``tests/data/eval/*.tsv``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("audio", "language", "reference", "translation")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class Clip:
    """One row of a manifest."""

    audio: Path
    language: str
    reference: str
    translation: str = ""


def read_manifest(path: Path) -> list[Clip]:
    """The clips of the manifest at ``path``, in file order.

    Raises:
        ManifestError: the file is missing or empty, the header is not ``audio language reference
            [translation]``, a row has too few or too many cells, an empty reference, a language that
            is not a lower-case ISO 639 code, or an audio file that does not exist.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    rows = [(n, row) for n, row in enumerate(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE),
                                            start=1)
            if row and any(cell.strip() for cell in row) and not row[0].startswith("#")]
    if not rows:
        raise ManifestError(f"{path}: empty manifest (expected a header row: {' '.join(COLUMNS)}, tab-separated)")
    (_, header), body = rows[0], rows[1:]
    header = [cell.strip().lower() for cell in header]
    if header not in (list(COLUMNS[:3]), list(COLUMNS)):
        raise ManifestError(f"{path}:{rows[0][0]}: the header must be {' / '.join(COLUMNS)} (the last optional), "
                            f"tab-separated; got {header}")
    clips = [_clip(path, n, row, len(header)) for n, row in body]
    if not clips:
        raise ManifestError(f"{path}: no clips after the header")
    return clips


def _clip(path: Path, line: int, row: list[str], width: int) -> Clip:
    where = f"{path}:{line}"
    if len(row) == width - 1 and width == len(COLUMNS):
        row = [*row, ""]  # an empty last cell without its tab
    if len(row) != width:
        raise ManifestError(f"{where}: {len(row)} tab-separated cells, expected {width} ({' '.join(COLUMNS[:width])})")
    audio, language, reference, *rest = (cell.strip() for cell in row)
    if not _LANGUAGE.match(language):
        raise ManifestError(f"{where}: language {language!r} is not an ISO 639-1 code such as en or es")
    if not reference:
        raise ManifestError(f"{where}: empty reference for {audio}")
    file = (path.parent / audio).resolve()
    if not file.is_file():
        raise ManifestError(f"{where}: audio file {audio} not found (looked at {file})")
    return Clip(file, language, reference, rest[0] if rest else "")
