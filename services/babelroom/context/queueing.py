"""The document-context jobs, queued by the services that must not embed (the runtime image has no torch) and
run by a Celery worker on the jobs image (``babelroom jobs --queue context``, :mod:`babelroom.jobs.context`):

- ``babelroom.index_document(document_id)``: queued by the gateway after an upload; chunks the stored text,
  embeds the chunks with MiniLM into pgvector and marks the document ``indexed`` (or ``failed``).
- ``babelroom.order_context_terms(room)``: queued by the STT worker for a room with more than
  ``context_max_terms`` terms; embeds the room's recent finals (``context:recent:{room}``) and writes the terms
  of the nearest chunks to ``context:nearest:{room}``, which the worker reads with the room's terms.

Both are best effort: a job that fails, expires or finds no worker costs the nearest-chunk ordering only, never
the terms (those are extracted and cached by the gateway at upload).
"""

from __future__ import annotations

import uuid

import structlog

from babelroom.bus.tasks import producer
from babelroom.config import Settings

log = structlog.get_logger(__name__)

CONTEXT_QUEUE = "context"
INDEX_TASK = "babelroom.index_document"
ORDER_TASK = "babelroom.order_context_terms"


def queue_indexing(settings: Settings, document_id: uuid.UUID, expires_s: float | None = None) -> None:
    """Send ``babelroom.index_document(document_id)`` to the ``context`` queue (blocking: run it in a thread).
    It never expires unless ``expires_s`` is given (a re-queued job, :mod:`babelroom.jobs.requeue`): the
    document waits ``pending`` until a worker takes it.

    Raises:
        kombu/redis errors: the broker is unreachable (the caller counts it; the document stays ``pending``).
    """
    producer(settings.redis_url).send_task(INDEX_TASK, args=[str(document_id)], queue=CONTEXT_QUEUE,
                                           expires=expires_s)
    log.debug("context.index_queued", document=str(document_id))


def queue_ordering(settings: Settings, room: str) -> None:
    """Send ``babelroom.order_context_terms(room)`` to run ``context_order_interval_s`` from now (so that it sees
    the finals of the interval), expiring unrun one interval later: by then the room's next final queues a
    fresher one (blocking: run it in a thread)."""
    delay = settings.context_order_interval_s
    producer(settings.redis_url).send_task(ORDER_TASK, args=[room], queue=CONTEXT_QUEUE, countdown=delay,
                                           expires=2 * delay)
    log.debug("context.order_queued", room=room)
