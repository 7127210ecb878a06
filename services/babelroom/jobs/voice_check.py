"""The one-speaker check of voice samples (queue ``voice``, :mod:`babelroom.voice.queueing`), on the jobs image:
the only image with torch, which CAM++ (:mod:`babelroom.voice.speaker`) needs.

``babelroom.check_voice_sample(sample_id)``: the stored FLAC decoded, the cosine of its two halves' speaker
embeddings (:func:`babelroom.voice.samples.speaker_similarity`) compared with ``voice_sample_min_similarity``;
the sample becomes ``passed`` or ``failed`` (``several_speakers``), with its ``speaker_similarity``. A sample
already checked is left as it is (``done_already``: the job is idempotent, so it is acknowledged only once done
and a worker killed mid-way leaves it to the next one); a sample deleted meanwhile is left alone (``gone``).

Outcomes are counted in ``babelroom_voice_sample_checks_total{outcome}`` (a failure also in
``babelroom_voice_samples_total{outcome="several_speakers"}``); an error (unreadable file, database down) is
logged, counted and not retried: the sample stays ``pending`` and is not cloned.
"""

from __future__ import annotations

import asyncio
import functools
import uuid

import structlog
from sqlalchemy import select, update

from babelroom import metrics
from babelroom.config import Settings, get_settings
from babelroom.db.models import VoiceSample
from babelroom.db.session import Database
from babelroom.jobs.app import app
from babelroom.voice.queueing import CHECK_TASK
from babelroom.voice.samples import decode, speaker_similarity
from babelroom.voice.speaker import SpeakerEmbedder

log = structlog.get_logger(__name__)


@functools.cache
def _embedder() -> SpeakerEmbedder:
    """CAM++, loaded on the first job of this process (about 1-10 s) and kept."""
    return SpeakerEmbedder()


async def check_sample(settings: Settings, db: Database, sample_id: uuid.UUID) -> str:
    """One run of ``babelroom.check_voice_sample``; returns its outcome: ``passed``, ``failed``, ``gone`` or
    ``done_already``.

    Raises:
        OSError: the stored file cannot be read (the sample still exists).
        babelroom.voice.samples.SampleRefused: the stored file is not audio.
    """
    async with db.session() as session:
        sample = await session.scalar(select(VoiceSample).where(VoiceSample.id == sample_id))
    if sample is None or sample.storage_path is None:
        return "gone"
    if sample.speaker_check != "pending":
        return "done_already"
    path = settings.voice_sample_dir / sample.storage_path
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        async with db.session() as session:  # deleted between the read of its row and of its file
            if await session.scalar(select(VoiceSample.id).where(VoiceSample.id == sample_id)) is None:
                return "gone"
        raise
    samples, rate, _ = await asyncio.to_thread(decode, data)
    similarity = await asyncio.to_thread(speaker_similarity, samples, rate, _embedder())
    outcome = "passed" if similarity >= settings.voice_sample_min_similarity else "failed"
    async with db.session() as session:
        updated = await session.execute(
            update(VoiceSample).where(VoiceSample.id == sample_id, VoiceSample.speaker_check == "pending")
            .values(speaker_check=outcome, speaker_similarity=round(similarity, 3)).returning(VoiceSample.id))
        found = updated.first()
        await session.commit()
    if found is None:  # deleted (or checked by another run) meanwhile
        return "gone"
    log.info("voice.speaker_checked", sample=str(sample_id), outcome=outcome, similarity=round(similarity, 3))
    return outcome


async def _run(sample_id: uuid.UUID) -> str:
    settings = get_settings()
    db = Database.from_settings(settings)
    try:
        return await check_sample(settings, db, sample_id)
    finally:
        await db.close()


@app.task(name=CHECK_TASK, acks_late=True, reject_on_worker_lost=True)  # a worker killed mid-way: run again
def check_voice_sample(sample_id: str) -> str:
    """The Celery task: the one-speaker check of the sample (see the module docstring); returns the outcome."""
    try:
        outcome = asyncio.run(_run(uuid.UUID(sample_id)))
    except Exception:  # the sample stays pending: not cloned
        outcome = "error"
        log.exception("voice.speaker_check_failed", sample=sample_id)
    metrics.VOICE_SAMPLE_CHECKS.labels(outcome).inc()
    if outcome == "failed":
        metrics.VOICE_SAMPLES.labels("several_speakers").inc()
    return outcome
