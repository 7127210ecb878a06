"""An uploaded document's text, its type judged by the content (never by the file name or ``Content-Type``).

Accepted:

- PDF (``%PDF-``): every page's text layer (:mod:`babelroom.context.pdf_text`), ``application/pdf``;
- DOCX (a ZIP whose ``[Content_Types].xml`` declares a WordprocessingML main part): paragraphs and table cells
  (:mod:`babelroom.context.docx_text`), ``application/vnd.openxmlformats-officedocument.wordprocessingml.document``;
- UTF-8 text (a BOM allowed) or UTF-16 with its BOM, plain (``text/plain``) or Markdown (``text/markdown``;
  its markup is dropped: headings, emphasis, link targets, code fences).

Refused (:class:`~babelroom.context.refusal.DocumentRefused`):

- ``unsupported_type`` (415): any other binary file: another ZIP (XLSX, PPTX, ODT, a plain archive), DOC, RTF,
  an image, anything holding NUL bytes or control characters;
- ``too_large`` (413): a PDF of more than ``max_pages`` pages, a PDF or DOCX with more than ``max_chars``
  characters of text, or one whose compressed content inflates past the limits (a decompression bomb);
- ``encrypted`` (422): a PDF that needs a password;
- ``corrupt`` (422): a truncated or damaged PDF or DOCX;
- ``undecodable`` (422): text that is not valid UTF-8;
- ``empty`` (422): no words once read (a scanned PDF without a text layer: no OCR here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babelroom.config import Settings
from babelroom.context.docx_text import docx_text
from babelroom.context.pdf_text import pdf_text
from babelroom.context.refusal import DocumentRefused

PDF, DOCX = "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: Leading bytes of binary formats people upload as documents that are not read here, named for the refusal.
MAGIC = {b"\xd0\xcf\x11\xe0": "DOC/OLE", b"{\\rtf": "RTF", b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG",
         b"GIF8": "GIF", b"\x1f\x8b": "gzip"}
ACCEPTED = "upload PDF, DOCX, plain text or Markdown (UTF-8)"

_MARKDOWN_HINTS = re.compile(r"^(#{1,6} |```|\s*[-*+] |\s*\d+\. |> )|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]{2,}")
_DEFAULT = Settings.model_fields


@dataclass(frozen=True)
class DocumentText:
    """``content_type``: ``application/pdf``, the DOCX type, ``text/markdown`` or ``text/plain``; ``text``: the
    words, markup dropped."""

    content_type: str
    text: str


def read_document(data: bytes, *, max_pages: int = _DEFAULT["document_max_pages"].default,
                  max_chars: int = _DEFAULT["document_max_bytes"].default) -> DocumentText:
    """The text of an uploaded document (CPU-bound for a PDF or DOCX: callers on an event loop use a thread).

    ``max_pages`` and ``max_chars`` bound a PDF's pages and a PDF's or DOCX's text (defaults: the settings
    ``document_max_pages`` and ``document_max_bytes``).

    Raises:
        DocumentRefused: see the module docstring.
    """
    if data.startswith(b"%PDF-"):
        return _extracted(PDF, pdf_text(data, max_pages, max_chars),
                          "the PDF has no text layer (scanned pages?): no OCR here, upload its text instead")
    if data.startswith(b"PK\x03\x04"):  # a ZIP: DOCX, or another format refused by name
        return _extracted(DOCX, docx_text(data, max_chars), "the DOCX holds no words")
    for magic, name in MAGIC.items():
        if data.startswith(magic):
            raise DocumentRefused("unsupported_type", f"a {name} file: {ACCEPTED}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM (Windows Notepad's "Unicode")
        try:
            data = data.decode("utf-16").encode()
        except UnicodeDecodeError as exc:
            raise DocumentRefused("undecodable", "not valid UTF-16 text after its byte-order mark") from exc
    if b"\x00" in data:
        raise DocumentRefused("unsupported_type", f"a binary file: {ACCEPTED}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRefused("undecodable", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8") from exc
    if _CONTROL.search(text):
        raise DocumentRefused("unsupported_type", f"a binary file: {ACCEPTED}")
    markdown = bool(_MARKDOWN_HINTS.search(text))
    if markdown:
        text = strip_markdown(text)
    if not _WORD.search(text):
        raise DocumentRefused("empty", "the document holds no words")
    return DocumentText("text/markdown" if markdown else "text/plain", text)


def _extracted(content_type: str, text: str, empty: str) -> DocumentText:
    """Text extracted from a PDF or DOCX, control characters (a PDF's stray NULs, which PostgreSQL's ``text``
    refuses) turned into spaces.

    Raises:
        DocumentRefused: ``empty`` with the detail ``empty``: no words.
    """
    text = _CONTROL.sub(" ", text)
    if not _WORD.search(text):
        raise DocumentRefused("empty", empty)
    return DocumentText(content_type, text)


def strip_markdown(text: str) -> str:
    """Markdown's markup dropped, the words kept: fences, heading and list marks, quotes, emphasis, link targets
    (``[words](url)`` → ``words``), inline code marks."""
    text = re.sub(r"^```.*$", "", text, flags=re.M)
    text = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|__|\*|`)", "", text)
