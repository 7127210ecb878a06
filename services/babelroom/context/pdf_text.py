"""The text layer of a PDF (pypdf, BSD-3-Clause): every page's ``extract_text()``, pages apart by a blank line.

No OCR: a scanned PDF (pages that are only images) has no text and is refused ``empty``.
"""

from __future__ import annotations

import io
import struct
import zlib

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from babelroom.context.refusal import DocumentRefused

#: The PDF trailer's end mark; Acrobat looks for it in the last 1024 bytes, and so do we (a cut upload lacks it).
_EOF_MARK, _EOF_WINDOW = b"%%EOF", 1024
#: What pypdf raises on a damaged file besides its own errors (it parses leniently, strict=False); a filter name it
#: does not know (garbled or rare) raises NotImplementedError.
_BROKEN = (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError, struct.error,
           zlib.error, RecursionError, NotImplementedError)


def pdf_text(data: bytes, max_pages: int, max_chars: int) -> str:
    """The text of the PDF ``data`` (starting ``%PDF-``), pages joined by ``"\\n\\n"``.

    An encrypted PDF that opens with the empty user password (restrictions only) is read.

    Raises:
        DocumentRefused: ``corrupt`` (truncated or unreadable), ``encrypted`` (needs a password),
            ``too_large`` (more than ``max_pages`` pages, more than ``max_chars`` characters of text, or past one
            of pypdf's limits, e.g. a stream inflating past 75 MB). A PDF without a text layer gives ``""``.
    """
    if _EOF_MARK not in data[-_EOF_WINDOW:]:
        raise DocumentRefused("corrupt", "the PDF is truncated (no %%EOF at its end): upload the whole file")
    pages: list[str] = []
    size = 0
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRefused("encrypted", "the PDF is encrypted with a password: upload it without one")
        if len(reader.pages) > max_pages:
            raise DocumentRefused("too_large", f"the PDF has {len(reader.pages)} pages; at most {max_pages} are read")
        for page in reader.pages:
            pages.append(page.extract_text())
            size += len(pages[-1])
            if size > max_chars:
                raise DocumentRefused("too_large", f"the PDF holds more than {max_chars} characters of text")
    except (FileNotDecryptedError, DependencyError) as exc:
        raise DocumentRefused("encrypted", "the PDF is encrypted in a way we cannot open: upload it without "
                                           "encryption") from exc
    except LimitReachedError as exc:
        raise DocumentRefused("too_large", f"the PDF goes past a limit of the reader ({exc})") from exc
    except _BROKEN as exc:
        raise DocumentRefused("corrupt", f"the PDF is damaged and cannot be read ({type(exc).__name__})") from exc
    return "\n\n".join(pages)
