"""The document-context tasks (queue ``context``, :mod:`babelroom.context.queueing`), on the jobs image: the only
image with torch, which MiniLM (:mod:`babelroom.context.embeddings`) needs.

- ``babelroom.index_document(document_id)``: the document's stored text cut into chunks
  (``document_chunk_words``, overlapping by ``document_chunk_overlap_words``), each embedded into
  ``document_chunks`` with the document terms it holds; the document becomes ``indexed`` (``chunk_count`` set).
  Run twice, it replaces the chunks, so it is acknowledged only once done: a worker killed mid-way leaves it to
  the next one. A document deleted meanwhile is left alone (``gone``).
- ``babelroom.order_context_terms(room)``: the room's recent finals (``context:recent:{room}``) embedded, the
  terms of the room's ``context_nearest_chunks`` nearest chunks written to ``context:nearest:{room}``
  (``context_cache_ttl_s``), where the STT worker reads them.

Failures are logged and counted (``babelroom_context_jobs_total{job,outcome}``), never retried: a document whose
indexing failed is ``failed`` and only loses the nearest-chunk ordering (its terms were cached at upload).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
import structlog
from celery import Task, signals
from sqlalchemy import delete, select, update

from babelroom import metrics
from babelroom.config import Settings, get_settings
from babelroom.context.embeddings import embedder
from babelroom.context.queueing import INDEX_TASK, ORDER_TASK
from babelroom.context.room_cache import nearest_key, recent_finals
from babelroom.context.store import embed_chunks, nearest_terms
from babelroom.db.models import Document, DocumentChunk
from babelroom.db.session import Database
from babelroom.jobs.app import app

log = structlog.get_logger(__name__)

T = TypeVar("T")


async def index(settings: Settings, db: Database, document_id: uuid.UUID) -> str:
    """One run of ``babelroom.index_document``; returns its outcome: ``indexed`` or ``gone``."""
    async with db.session() as session:
        document = await session.scalar(select(Document).where(Document.id == document_id))
    if document is None:
        return "gone"
    model = await asyncio.to_thread(embedder, settings.embedding_model_dir)  # ~1 s, once per process
    rows = await embed_chunks(document, model, chunk_size=settings.document_chunk_words,
                              chunk_overlap=settings.document_chunk_overlap_words)
    async with db.session() as session:
        locked = await session.scalar(select(Document.id).where(Document.id == document_id).with_for_update())
        if locked is None:  # deleted while its chunks were embedded
            return "gone"
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))
        session.add_all(rows)
        await session.execute(update(Document).where(Document.id == document_id)
                              .values(chunk_count=len(rows), index_status="indexed"))
        await session.commit()
    log.info("context.indexed", document=str(document_id), chunks=len(rows))
    return "indexed"


async def mark_failed(db: Database, document_id: uuid.UUID) -> None:
    """Set the document's ``index_status`` to ``failed`` (if it still exists)."""
    async with db.session() as session:
        await session.execute(update(Document).where(Document.id == document_id).values(index_status="failed"))
        await session.commit()


async def order(settings: Settings, redis: aioredis.Redis, db: Database, room: str) -> str:
    """One run of ``babelroom.order_context_terms``; returns its outcome: ``ordered`` or ``no_finals``."""
    finals = await recent_finals(redis, room)
    if not finals:
        return "no_finals"
    model = await asyncio.to_thread(embedder, settings.embedding_model_dir)
    vector = (await asyncio.to_thread(model.embed, [" ".join(reversed(finals))]))[0]
    async with db.session() as session:
        found = await nearest_terms(session, room, vector, settings.context_nearest_chunks)
    await redis.set(nearest_key(room), json.dumps(found), ex=settings.context_cache_ttl_s)
    return "ordered"


async def _with_clients(run: Callable[[Settings, aioredis.Redis, Database], Awaitable[T]]) -> T:
    settings = get_settings()
    redis = aioredis.from_url(settings.redis_url)
    db = Database.from_settings(settings)
    try:
        return await run(settings, redis, db)
    finally:
        await redis.aclose()
        await db.close()


@app.task(name=INDEX_TASK, acks_late=True, reject_on_worker_lost=True)  # a worker killed mid-way: run again
def index_document(document_id: str) -> str:
    """The Celery task: index the document (see the module docstring); returns the outcome."""
    try:
        outcome = asyncio.run(_with_clients(lambda s, _r, db: index(s, db, uuid.UUID(document_id))))
    except Exception:  # the terms already work; only the nearest-chunk ordering is lost
        outcome = "failed"
        log.exception("context.index_failed", document=document_id)
        try:
            asyncio.run(_with_clients(lambda _s, _r, db: mark_failed(db, uuid.UUID(document_id))))
        except Exception:  # noqa: BLE001 - the database is down: the document stays pending
            log.exception("context.mark_failed_failed", document=document_id)
    metrics.CONTEXT_JOBS.labels("index", outcome).inc()
    return outcome


@app.task(name=ORDER_TASK)
def order_context_terms(room: str) -> str:
    """The Celery task: re-order the room's terms by its recent finals (see the module docstring)."""
    try:
        outcome = asyncio.run(_with_clients(lambda s, r, db: order(s, r, db, room)))
    except Exception:  # the room keeps its previous order
        outcome = "failed"
        log.exception("context.order_failed", room=room)
    metrics.CONTEXT_JOBS.labels("order", outcome).inc()
    return outcome


@signals.task_revoked.connect
def _count_expired(sender: Task | None = None, expired: bool = False, **_: object) -> None:
    """Count the re-ordering jobs the worker dropped unrun (expired: the worker was busy or absent)."""
    if expired and sender is not None and sender.name == ORDER_TASK:
        metrics.CONTEXT_JOBS.labels("order", "expired").inc()
