"""Jobs queued again for what is still pending: the beat task ``babelroom.requeue_pending``.

An upload queues its job once (``babelroom.index_document`` for a room document, ``babelroom.check_voice_sample``
for a voice sample). When the broker was down at that moment, the row stays ``pending`` for good: the upload
answered 201 and counted ``not_queued``. Every ``requeue_interval_s``, this task queues the job again for each
document still ``index_status='pending'`` and each unexpired voice sample still ``speaker_check='pending'`` older
than ``requeue_pending_after_s``. Both jobs are idempotent (a done one is left alone), and a re-queued job expires
after one interval, so that a worker down for hours finds one job per row, not one per interval.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import or_, select

from babelroom import metrics
from babelroom.config import Settings, get_settings
from babelroom.context.queueing import queue_indexing
from babelroom.db.models import Document, VoiceSample
from babelroom.db.session import Database
from babelroom.jobs.app import app
from babelroom.voice.queueing import queue_speaker_check

log = structlog.get_logger(__name__)


async def pending_since(db: Database, before: datetime) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Ids of the documents pending indexing and of the unexpired voice samples pending their speaker check,
    created before ``before``, oldest first."""
    async with db.session() as session:
        documents = await session.execute(
            select(Document.id).where(Document.index_status == "pending", Document.created_at < before)
            .order_by(Document.created_at))
        samples = await session.execute(
            select(VoiceSample.id).where(
                VoiceSample.speaker_check == "pending", VoiceSample.created_at < before,
                or_(VoiceSample.expires_at.is_(None), VoiceSample.expires_at > datetime.now(UTC)))
            .order_by(VoiceSample.created_at))
        return list(documents.scalars()), list(samples.scalars())


def requeue(settings: Settings, documents: list[uuid.UUID], samples: list[uuid.UUID]) -> dict[str, int]:
    """Queue each job again, expiring after ``requeue_interval_s``; returns how many per job (``index``,
    ``speaker_check``). Blocking (the broker).

    Raises:
        kombu/redis errors: the broker is unreachable (beat's next run tries again).
    """
    for document in documents:
        queue_indexing(settings, document, expires_s=settings.requeue_interval_s)
        metrics.JOBS_REQUEUED.labels("index").inc()
    for sample in samples:
        queue_speaker_check(settings, sample, expires_s=settings.requeue_interval_s)
        metrics.JOBS_REQUEUED.labels("speaker_check").inc()
    return {"index": len(documents), "speaker_check": len(samples)}


async def _requeue_now(settings: Settings) -> dict[str, int]:
    db = Database.from_settings(settings)
    try:
        before = datetime.now(UTC) - timedelta(seconds=settings.requeue_pending_after_s)
        documents, samples = await pending_since(db, before)
    finally:
        await db.close()
    counts = requeue(settings, documents, samples)
    if documents or samples:
        log.info("jobs.requeued", **counts)
    return counts


@app.task(name="babelroom.requeue_pending")
def requeue_pending() -> dict[str, int]:
    """The beat task: :func:`pending_since` then :func:`requeue`, with this worker's settings."""
    return asyncio.run(_requeue_now(get_settings()))
