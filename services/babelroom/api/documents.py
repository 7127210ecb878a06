"""Room documents (Pro): context whose terms improve the room's captions (``/api/rooms/{id}/documents``).

``POST /api/rooms/{id}/documents?name=…`` takes the document itself as the request body: PDF (its text layer),
DOCX, UTF-8 plain text or Markdown, judged by its content (:mod:`babelroom.context.document_text`; read in a
thread), at most ``document_max_bytes``. Its
domain terms are extracted and stored with its text, and the room's terms are cached in Redis at once for the
STT worker (:mod:`babelroom.context.room_cache`), which hands them to Whisper with every decode of the room.
Chunking and MiniLM embedding (pgvector) need torch, which the gateway's image has not: they run in the
``babelroom.index_document`` job on the jobs image (:mod:`babelroom.context.queueing`); the document's
``index_status`` is ``pending`` until then. A job that cannot be queued is counted
(``babelroom_context_jobs_total{job="index",outcome="not_queued"}``); the upload still succeeds.

Only the room's owner uploads, lists and deletes, and only on a tier with ``document_context`` (Pro and
Enterprise). Refusals, each counted in ``babelroom_documents_total{outcome}``:

- 404 ``not_found``: no such room (or document);
- 403 ``forbidden`` (reason ``not_owner``): not the room's owner;
- 403 tier-limit body (``limit: "feature:document_context"``): the owner's tier lacks the feature;
- 409 ``room_closed``: uploading to a closed room;
- 409 ``document_refused``, reason ``too_many``: the room already holds ``documents_per_room``;
- 413 ``too_large`` (the upload, or a PDF's pages or a PDF's or DOCX's text past the limits), 415
  ``unsupported_type`` (another ZIP such as XLSX, DOC, an image, any other binary), 422 ``corrupt`` (a damaged or
  truncated PDF or DOCX), ``encrypted`` (a PDF needing a password), ``undecodable`` (not UTF-8), ``empty`` (no
  words; a scanned PDF without a text layer), ``bad_name`` (a name with a path or control characters):
  ``document_refused`` with ``reason``, as a validation error (``errors``) for the 422s.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import Literal

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.api.deps import current_user, db_session, limits_of, rate_limit, settings_of
from babelroom.api.errors import ApiError, ValidationErrorBody, responses
from babelroom.context import room_cache
from babelroom.context.document_text import read_document
from babelroom.context.queueing import queue_indexing
from babelroom.context.refusal import DocumentRefused
from babelroom.context.terms import extract_terms
from babelroom.db.models import Document, Room, User
from babelroom.rooms.errors import RoomClosed, RoomNotFound
from babelroom.tiers import LimitExceeded, Limits, require_feature

log = structlog.get_logger(__name__)

router = APIRouter(tags=["documents"], dependencies=[Depends(rate_limit)], responses=responses(400, 401, 429))

_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.\.?$|^\s|\s$")


class DocumentErrorBody(ValidationErrorBody):
    """A document was refused: ``reason`` says why (also the ``type`` of its one ``errors`` entry)."""

    reason: str = Field(description="too_large, unsupported_type, corrupt, encrypted, undecodable, empty, bad_name "
                        "or too_many",
                        examples=["unsupported_type"])


class RoomDocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    room_id: uuid.UUID | None
    name: str = Field(validation_alias="filename")
    content_type: str = Field(description="application/pdf, application/vnd.openxmlformats-officedocument."
                              "wordprocessingml.document, text/plain or text/markdown (judged by the content)")
    size_bytes: int
    terms: list[str] = Field(description="Domain terms found, most salient first (names, acronyms, rare words)")
    chunk_count: int = Field(description="Pieces stored with an embedding for retrieval (0 until indexed)")
    index_status: Literal["pending", "indexed", "failed"] = Field(
        description="pending: the indexing job (chunks and embeddings) has not run yet; the terms work already")
    created_at: datetime


def _refusal_responses() -> dict[int | str, dict[str, object]]:
    out: dict[int | str, dict[str, object]] = {}
    for status, reason, detail in ((409, "too_many", "this room already holds 20 documents"),
                                   (413, "too_large", "the document is larger than 10 MB"),
                                   (415, "unsupported_type",
                                    "a JPEG file: upload PDF, DOCX, plain text or Markdown (UTF-8)"),
                                   (422, "encrypted", "the PDF is encrypted with a password: upload it without one")):
        out[status] = {"model": DocumentErrorBody, "description": f"Refused: {reason} and the like",
                       "content": {"application/json": {"example": {
                           "error": "document_refused", "reason": reason, "detail": detail,
                           "errors": [{"loc": ["body"], "msg": detail, "type": reason}]}}}}
    return out


def _refuse(status: int, reason: str, detail: str) -> ApiError:
    metrics.DOCUMENTS.labels(reason).inc()
    return ApiError(status, "document_refused", detail, reason=reason,
                    errors=[{"loc": ["body"], "msg": detail, "type": reason}])


async def _owned_room(session: AsyncSession, room_id: uuid.UUID, user: User, limits: Limits) -> Room:
    """The room, if ``user`` owns it and their tier has ``document_context`` (each refusal counted).

    Raises:
        RoomNotFound: no such room (404). ApiError: not the owner (403). LimitExceeded: tier (403).
    """
    room = await session.scalar(select(Room).where(Room.id == room_id))
    if room is None:
        metrics.DOCUMENTS.labels("not_found").inc()
        raise RoomNotFound()
    if room.owner_id != user.id:
        metrics.DOCUMENTS.labels("not_owner").inc()
        raise ApiError(403, "forbidden", "only the room's owner manages its documents", reason="not_owner")
    try:
        require_feature(limits, "document_context")
    except LimitExceeded:
        metrics.DOCUMENTS.labels("tier_limit").inc()
        raise
    return room


async def _count(session: AsyncSession, room_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(Document).where(Document.room_id == room_id)) or 0


@router.post("/api/rooms/{room_id}/documents", status_code=201, response_model=RoomDocumentOut,
             responses={**responses(403, 404), **_refusal_responses()},
             openapi_extra={"requestBody": {
                 "required": True, "description": "The document: PDF (with a text layer), DOCX, UTF-8 plain text "
                 "or Markdown, whatever the Content-Type says (the content decides)",
                 "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_document(
    room_id: uuid.UUID, request: Request,
    name: str = Query(min_length=1, max_length=255, examples=["glossary.md"], description="Shown in the list"),
    user: User = Depends(current_user), limits: Limits = Depends(limits_of),
    session: AsyncSession = Depends(db_session),
) -> RoomDocumentOut:
    """Add a document to a room you own (Pro): its terms reach the room's captions from the next decode on."""
    settings = settings_of(request)
    room = await _owned_room(session, room_id, user, limits)
    if room.status != "open":
        metrics.DOCUMENTS.labels("room_closed").inc()
        raise RoomClosed(room.close_reason)
    if _BAD_NAME.search(name):
        raise _refuse(422, "bad_name", "the name must not hold a path, control characters or edge spaces")
    too_many = f"this room already holds {settings.documents_per_room} documents: delete one first"
    if await _count(session, room_id) >= settings.documents_per_room:
        raise _refuse(409, "too_many", too_many)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > settings.document_max_bytes:
            raise _refuse(413, "too_large", f"the document is larger than {settings.document_max_bytes // 2**20} MB")
    try:  # CPU work on up to document_max_bytes: off the event loop
        read = await asyncio.to_thread(read_document, bytes(data), max_pages=settings.document_max_pages,
                                       max_chars=settings.document_max_bytes)
    except DocumentRefused as exc:
        raise _refuse(exc.status, exc.reason, exc.detail) from exc
    terms = await asyncio.to_thread(extract_terms, read.text, settings.document_max_terms)

    document = Document(id=uuid.uuid4(), user_id=user.id, room_id=room_id, filename=name,
                        content_type=read.content_type, size_bytes=len(data), text=read.text,
                        terms=terms, chunk_count=0, index_status="pending")
    await session.execute(select(Room.id).where(Room.id == room_id).with_for_update())  # one upload at a time
    if await _count(session, room_id) >= settings.documents_per_room:
        raise _refuse(409, "too_many", too_many)
    session.add(document)
    await session.commit()
    await room_cache.refresh(request.app.state.redis, session, room_id)
    metrics.DOCUMENTS.labels("accepted").inc()
    try:
        await asyncio.to_thread(queue_indexing, settings, document.id)
        metrics.CONTEXT_JOBS.labels("index", "queued").inc()
    except Exception as exc:  # noqa: BLE001 - the terms work without the job; only its ordering is lost
        metrics.CONTEXT_JOBS.labels("index", "not_queued").inc()
        log.error("documents.index_not_queued", document=str(document.id), error=repr(exc))
    return RoomDocumentOut.model_validate(document)


@router.get("/api/rooms/{room_id}/documents", response_model=list[RoomDocumentOut], responses=responses(403, 404))
async def list_documents(room_id: uuid.UUID, user: User = Depends(current_user), limits: Limits = Depends(limits_of),
                         session: AsyncSession = Depends(db_session)) -> list[RoomDocumentOut]:
    """The documents of a room you own, oldest first."""
    await _owned_room(session, room_id, user, limits)
    rows = await session.execute(select(Document).where(Document.room_id == room_id)
                                 .order_by(Document.created_at, Document.id))
    return [RoomDocumentOut.model_validate(d) for d in rows.scalars()]


@router.delete("/api/rooms/{room_id}/documents/{document_id}", status_code=204, response_class=Response,
               responses=responses(403, 404))
async def delete_document(room_id: uuid.UUID, document_id: uuid.UUID, request: Request,
                          user: User = Depends(current_user), limits: Limits = Depends(limits_of),
                          session: AsyncSession = Depends(db_session)) -> Response:
    """Delete a document of a room you own (its chunks go with it); the captions stop using its terms."""
    room = await _owned_room(session, room_id, user, limits)
    deleted = await session.execute(delete(Document).where(Document.id == document_id, Document.room_id == room_id)
                                    .returning(Document.id))
    found = deleted.first()
    await session.commit()
    if found is None:
        metrics.DOCUMENTS.labels("not_found").inc()
        raise ApiError(404, "not_found", "no such document")
    if room.status == "open":  # a closed room's terms left the cache when it closed
        await room_cache.refresh(request.app.state.redis, session, room_id)
    return Response(status_code=204)
