"""Documents in PostgreSQL: indexing one (its chunks with their MiniLM embeddings and terms: the jobs worker), a
room's terms, and the terms of a room's chunks nearest a text (pgvector cosine distance, HNSW index)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.context.chunks import chunk_words
from babelroom.context.embeddings import SentenceEmbedder
from babelroom.context.terms import terms_in
from babelroom.db.models import Document, DocumentChunk


def _unique(lists: Iterable[list[str]]) -> list[str]:
    """The terms of every list, in order, each once (case-insensitive)."""
    seen: set[str] = set()
    out: list[str] = []
    for terms in lists:
        for term in terms:
            if term.casefold() not in seen:
                seen.add(term.casefold())
                out.append(term)
    return out


async def embed_chunks(document: Document, embedder: SentenceEmbedder, *, chunk_size: int,
                       chunk_overlap: int) -> list[DocumentChunk]:
    """The chunk rows of ``document.text`` (to add to a session): each chunk's MiniLM embedding (computed in a
    thread) and those of ``document.terms`` it holds."""
    chunks = chunk_words(document.text or "", chunk_size, chunk_overlap)
    vectors = await asyncio.to_thread(embedder.embed, chunks)
    return [DocumentChunk(document_id=document.id, seq=i, text=chunk, terms=terms_in(chunk, document.terms),
                          embedding=[float(v) for v in vector])
            for i, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True))]


async def room_terms(session: AsyncSession, room_id: uuid.UUID | str) -> list[str]:
    """Every term of the room's documents, oldest document first, each once (case-insensitive)."""
    rows = await session.execute(select(Document.terms).where(Document.room_id == uuid.UUID(str(room_id)))
                                 .order_by(Document.created_at, Document.id))
    return _unique(rows.scalars())


async def nearest_terms(session: AsyncSession, room_id: uuid.UUID | str, vector: npt.NDArray[np.float32],
                        chunks: int) -> list[str]:
    """Terms of the room's ``chunks`` document chunks nearest ``vector`` (cosine), nearest chunk first, each once."""
    distance = DocumentChunk.embedding.op("<=>")([float(v) for v in vector])
    rows = await session.execute(
        select(DocumentChunk.terms).join(Document, Document.id == DocumentChunk.document_id)
        .where(Document.room_id == uuid.UUID(str(room_id))).order_by(distance).limit(chunks))
    return _unique(rows.scalars())
