"""Transcript retention: delete segments older than the room owner's ``history_days``.

The owner's effective limit counts (their own override, else their organisation's, else their
tier's; null = keep forever), so an enterprise organisation's terms apply to its members' rooms.
Deletions are logged (``retention.deleted`` with counts per tier) and counted in
``babelroom_retention_deleted_total{tier}``. Run by beat as the task ``babelroom.retention``, which also
deletes the voice samples past their ``expires_at`` (:func:`babelroom.voice.storage.purge_expired`) and the room
documents older than their uploader's ``history_days`` (:func:`purge_documents`; the rooms' cached terms are
refreshed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog
from sqlalchemy import text

from babelroom import metrics
from babelroom.config import get_settings
from babelroom.context import room_cache
from babelroom.db.session import Database
from babelroom.jobs.app import app
from babelroom.voice.storage import purge_expired

log = structlog.get_logger(__name__)

#: The effective ``history_days`` of user ``u`` (tier ``t``, organisation ``o``): user override, else organisation's,
#: else the tier's; NULL keeps forever (the comparison is then never true).
_HISTORY_DAYS = """make_interval(days => CASE
        WHEN u.limit_overrides ? 'history_days' THEN (u.limit_overrides->>'history_days')::int
        WHEN o.limit_overrides ? 'history_days' THEN (o.limit_overrides->>'history_days')::int
        ELSE t.history_days END)"""

_DELETE = text(f"""
DELETE FROM transcript_segments s
USING rooms r
JOIN users u ON u.id = r.owner_id
JOIN tiers t ON t.name = u.tier_name
LEFT JOIN organisations o ON o.id = u.organisation_id
WHERE s.room_id = r.id
  AND s.spoken_at < CAST(:now AS timestamptz) - {_HISTORY_DAYS}
RETURNING t.name
""")

_DELETE_DOCUMENTS = text(f"""
DELETE FROM documents d
USING users u
JOIN tiers t ON t.name = u.tier_name
LEFT JOIN organisations o ON o.id = u.organisation_id
WHERE d.user_id = u.id
  AND d.created_at < CAST(:now AS timestamptz) - {_HISTORY_DAYS}
RETURNING d.room_id
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


async def purge_documents(db: Database, redis: aioredis.Redis, now: datetime | None = None) -> int:
    """Delete every room document (its chunks cascade) older than its uploader's ``history_days`` at ``now``,
    and refresh the cached terms of the rooms that lost one; returns how many went."""
    async with db.session() as session:
        deleted = await session.execute(_DELETE_DOCUMENTS, {"now": now or datetime.now(UTC)})
        rooms: list[uuid.UUID | None] = list(deleted.scalars())
        await session.commit()
        for room in {r for r in rooms if r is not None}:
            await room_cache.refresh(redis, session, room)
    if rooms:
        log.info("retention.documents_deleted", deleted=len(rooms))
    return len(rooms)


async def _purge_now() -> dict[str, int]:
    settings = get_settings()
    db = Database.from_settings(settings)
    redis = aioredis.from_url(settings.redis_url)
    try:
        async with db.session() as session:  # voice samples past their tier's retention (row and file)
            await purge_expired(session, settings.voice_sample_dir, datetime.now(UTC))
        await purge_documents(db, redis)
        return await purge(db)
    finally:
        await redis.aclose()
        await db.close()


@app.task(name="babelroom.retention")
def retention() -> dict[str, int]:
    """The beat task: :func:`purge` with this worker's settings."""
    return asyncio.run(_purge_now())
