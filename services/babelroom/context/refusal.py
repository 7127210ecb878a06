"""Why an uploaded document is not read: :class:`DocumentRefused` with a ``reason`` and its HTTP status."""

from __future__ import annotations

#: HTTP status of each reason; every other reason (undecodable, corrupt, encrypted, empty): 422.
STATUS = {"unsupported_type": 415, "too_large": 413}


class DocumentRefused(Exception):
    """The upload is not a document we read: ``reason`` (see :mod:`babelroom.context.document_text`) and
    ``detail`` (a sentence for the uploader)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 422)
