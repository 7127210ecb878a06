"""The text of a Word document (DOCX, python-docx, MIT): paragraphs and table cells in document order, each apart
by a blank line; a ZIP that is not a WordprocessingML document is named for the refusal.

A DOCX is a ZIP: before python-docx loads its parts (it holds them all in memory), their declared uncompressed
sizes (an upper bound: :mod:`zipfile` stops at it) must add up to at most ``INFLATE_FACTOR × max_chars`` bytes,
so that a decompression bomb is refused unread.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from babelroom.context.refusal import DocumentRefused

#: The main part's content type of a Word document (``word/document.xml`` in ``[Content_Types].xml``).
WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: Uncompressed bytes a DOCX may inflate to, per character of ``max_chars`` (WordprocessingML's markup is several
#: bytes per character of text, and the images count too).
INFLATE_FACTOR = 3
#: Other ZIP-based formats, told by a content type in ``[Content_Types].xml``, named for the refusal.
_OTHER_OOXML = {b"spreadsheetml": "an XLSX spreadsheet", b"presentationml": "a PPTX presentation",
                b"ms-word.document.macroEnabled": "a macro-enabled Word document (DOCM): save it as DOCX",
                b"wordprocessingml.template": "a Word template (DOTX): save it as DOCX"}
_CONTENT_TYPES, _MAX_CONTENT_TYPES = "[Content_Types].xml", 1 << 20
#: What a damaged DOCX raises (lxml's XMLSyntaxError is a SyntaxError; zipfile raises zlib.error on a damaged
#: deflate stream and NotImplementedError on a compression method it lacks).
_BROKEN = (zipfile.BadZipFile, KeyError, ValueError, PackageNotFoundError, SyntaxError, EOFError, zlib.error,
           NotImplementedError)


def docx_text(data: bytes, max_chars: int) -> str:
    """The text of the ZIP ``data`` (starting ``PK\\x03\\x04``) if it is a Word document.

    Raises:
        DocumentRefused: ``unsupported_type`` (another ZIP format, named), ``corrupt`` (a damaged or truncated ZIP
            or DOCX), ``too_large`` (inflates past ``INFLATE_FACTOR × max_chars`` bytes or holds more than
            ``max_chars`` characters of text).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _require_word(archive)
            inflated = sum(info.file_size for info in archive.infolist())
            if inflated > INFLATE_FACTOR * max_chars:
                raise DocumentRefused("too_large", f"the DOCX inflates to {inflated // 2**20} MB; at most "
                                                   f"{INFLATE_FACTOR * max_chars // 2**20} MB are read")
        document = docx.Document(io.BytesIO(data))
        pieces: list[str] = []
        size = 0
        for piece in _pieces(document.iter_inner_content()):
            pieces.append(piece)
            size += len(piece)
            if size > max_chars:
                raise DocumentRefused("too_large", f"the DOCX holds more than {max_chars} characters of text")
    except _BROKEN as exc:
        raise DocumentRefused("corrupt", f"the DOCX (ZIP) file is damaged or truncated ({type(exc).__name__})"
                              ) from exc
    return "\n\n".join(pieces)


def _require_word(archive: zipfile.ZipFile) -> None:
    """Raises DocumentRefused ``unsupported_type`` unless ``[Content_Types].xml`` declares a Word main part."""
    names = set(archive.namelist())
    types = b""
    if _CONTENT_TYPES in names and archive.getinfo(_CONTENT_TYPES).file_size <= _MAX_CONTENT_TYPES:
        types = archive.read(_CONTENT_TYPES)
    if WORD_MAIN in types:
        return
    if "mimetype" in names:
        kind = "an OpenDocument file (ODT/ODS): save it as DOCX or PDF"
    else:
        kind = next((name for mark, name in _OTHER_OOXML.items() if mark in types), "a ZIP archive")
    raise DocumentRefused("unsupported_type", f"{kind}, not a Word document: upload PDF, DOCX, plain text or "
                                              "Markdown")


def _pieces(blocks: Iterator[Paragraph | Table]) -> Iterator[str]:
    """The non-blank text of each paragraph and table cell (a merged cell once, nested tables included)."""
    for block in blocks:
        if isinstance(block, Paragraph):
            if block.text.strip():
                yield block.text
            continue
        seen: set[object] = set()  # a merged cell comes once per grid column and row it spans
        for row in block.rows:
            for cell in row.cells:
                if cell._tc not in seen:
                    seen.add(cell._tc)
                    yield from _pieces(cell.iter_inner_content())
