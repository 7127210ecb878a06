"""Transcript retention: delete segments older than the room owner's ``history_days``.

The owner's effective limit counts (their own override, else their organisation's, else their
tier's; null = keep forever), so an enterprise organisation's terms apply to its members' rooms.
Deletions are logged (``retention.deleted`` with counts per tier) and counted in
``babelroom_retention_deleted_total{tier}``. Run by beat as the task ``babelroom.retention``, which also
deletes the voice samples past their ``expires_at`` (:func:`babelroom.voice.storage.purge_expired`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import structlog
from sqlalchemy import text

from babelroom import metrics
from babelroom.config import get_settings
from babelroom.db.session import Database
from babelroom.jobs.app import app
from babelroom.voice.storage import purge_expired

log = structlog.get_logger(__name__)

_DELETE = text("""
DELETE FROM transcript_segments s
USING rooms r
JOIN users u ON u.id = r.owner_id
JOIN tiers t ON t.name = u.tier_name
LEFT JOIN organisations o ON o.id = u.organisation_id
WHERE s.room_id = r.id
  AND s.spoken_at < CAST(:now AS timestamptz) - make_interval(days => CASE
        WHEN u.limit_overrides ? 'history_days' THEN (u.limit_overrides->>'history_days')::int
        WHEN o.limit_overrides ? 'history_days' THEN (o.limit_overrides->>'history_days')::int
        ELSE t.history_days END)
RETURNING t.name
""")


async def purge(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Delete every segment past its retention at ``now``; returns deleted rows per owner tier."""
    async with db.session() as session:
        tiers: Counter[str] = Counter((await session.execute(_DELETE, {"now": now or datetime.now(UTC)})).scalars())
        await session.commit()
    for tier, count in tiers.items():
        metrics.RETENTION_DELETED.labels(tier).inc(count)
    log.info("retention.deleted", total=sum(tiers.values()), by_tier=dict(tiers))
    return dict(tiers)


async def _purge_now() -> dict[str, int]:
    settings = get_settings()
    db = Database.from_settings(settings)
    try:
        async with db.session() as session:  # voice samples past their tier's retention (row and file)
            await purge_expired(session, settings.voice_sample_dir, datetime.now(UTC))
        return await purge(db)
    finally:
        await db.close()


@app.task(name="babelroom.retention")
def retention() -> dict[str, int]:
    """The beat task: :func:`purge` with this worker's settings."""
    return asyncio.run(_purge_now())
