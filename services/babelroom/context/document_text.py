"""An uploaded document's text, its type judged by the content (never by the file name or ``Content-Type``).

Accepted: UTF-8 text (a BOM allowed) or UTF-16 with its BOM, plain or Markdown (Markdown's markup is dropped:
headings, emphasis, link targets, code fences). Refused (:class:`DocumentRefused`):

- ``unsupported_type`` (415): a binary file: PDF, DOCX/ZIP, an image, anything holding NUL bytes or control
  characters (no PDF or DOCX text library is installed here: pypdf and python-docx are not in the environment);
- ``undecodable`` (422): text that is not valid UTF-8;
- ``empty`` (422): no words once decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Leading bytes of binary formats people upload as documents, named for the refusal.
MAGIC = {b"%PDF-": "PDF", b"PK\x03\x04": "DOCX/ZIP", b"\xd0\xcf\x11\xe0": "DOC/OLE", b"{\\rtf": "RTF",
         b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"\x1f\x8b": "gzip"}
STATUS = {"unsupported_type": 415}  # the other reasons: 422

_MARKDOWN_HINTS = re.compile(r"^(#{1,6} |```|\s*[-*+] |\s*\d+\. |> )|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DocumentRefused(Exception):
    """The upload is not a document we read: ``reason`` (see the module docstring) and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 422)


@dataclass(frozen=True)
class DocumentText:
    """``content_type``: ``text/markdown`` or ``text/plain``; ``text``: the words, markup dropped."""

    content_type: str
    text: str


def read_document(data: bytes) -> DocumentText:
    """The text of an uploaded document.

    Raises:
        DocumentRefused: see the module docstring.
    """
    for magic, name in MAGIC.items():
        if data.startswith(magic):
            raise DocumentRefused("unsupported_type", f"a {name} file: upload plain text or Markdown (UTF-8)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM (Windows Notepad's "Unicode")
        try:
            data = data.decode("utf-16").encode()
        except UnicodeDecodeError as exc:
            raise DocumentRefused("undecodable", "not valid UTF-16 text after its byte-order mark") from exc
    if b"\x00" in data:
        raise DocumentRefused("unsupported_type", "a binary file: upload plain text or Markdown (UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRefused("undecodable", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8") from exc
    if _CONTROL.search(text):
        raise DocumentRefused("unsupported_type", "a binary file: upload plain text or Markdown (UTF-8)")
    markdown = bool(_MARKDOWN_HINTS.search(text))
    if markdown:
        text = strip_markdown(text)
    if not re.search(r"[^\W\d_]{2,}", text):
        raise DocumentRefused("empty", "the document holds no words")
    return DocumentText("text/markdown" if markdown else "text/plain", text)


def strip_markdown(text: str) -> str:
    """Markdown's markup dropped, the words kept: fences, heading and list marks, quotes, emphasis, link targets
    (``[words](url)`` → ``words``), inline code marks."""
    text = re.sub(r"^```.*$", "", text, flags=re.M)
    text = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|__|\*|`)", "", text)
