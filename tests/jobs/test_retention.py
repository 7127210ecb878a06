"""Retention per tier: transcripts older than the room owner's ``history_days`` are deleted, logged
and counted — by the purge itself, and by a real Celery worker whose beat schedules it; room documents
older than their uploader's ``history_days`` too."""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from tests.conftest import run_sql

from babelroom import metrics
from babelroom.context.room_cache import terms_key
from babelroom.db.session import Database
from babelroom.dev.devstack import free_port
from babelroom.jobs.retention import purge, purge_documents


def owner(url: str, tier: str, overrides: str = "{}", org_overrides: str | None = None) -> str:
    """A user of ``tier`` (optionally in an organisation) with one room; returns the room id."""
    org = None
    if org_overrides is not None:
        org = run_sql(url, f"INSERT INTO organisations (id, name, limit_overrides) VALUES (gen_random_uuid(), "
                           f"'org-{uuid.uuid4().hex[:6]}', '{org_overrides}') RETURNING id")[0]["id"]
    user = run_sql(url, "INSERT INTO users (id, email, password_hash, display_name, tier_name, organisation_id, "
                        "limit_overrides) VALUES (gen_random_uuid(), :email, 'x', 'U', :tier, :org, "
                        "CAST(:overrides AS jsonb)) RETURNING id",
                   params={"email": f"{uuid.uuid4().hex[:8]}@t.local", "tier": tier, "org": org,
                           "overrides": overrides})
    room = run_sql(url, "INSERT INTO rooms (id, name, owner_id) VALUES (gen_random_uuid(), 'r', :owner) RETURNING id",
                   params={"owner": user[0]["id"]})
    return str(room[0]["id"])


def segment(url: str, room: str, days_old: float, text: str) -> None:
    run_sql(url, "INSERT INTO transcript_segments (room_id, speaker, speaker_name, seq, room_seq, segment_id, "
                 "audio_start_ms, audio_end_ms, language, text, spoken_at) VALUES (:room, 'u', 'U', "
                 "(SELECT count(*) + 1 FROM transcript_segments WHERE room_id = :room), 1, 's', 0, 1, 'en', :text, "
                 ":at)", params={"room": uuid.UUID(room), "text": text,
                                 "at": datetime.now(UTC) - timedelta(days=days_old)})


def remaining(url: str) -> set[str]:
    return {r["text"] for r in run_sql(url, "SELECT text FROM transcript_segments")}


def test_purge_follows_each_owners_tier_and_overrides(database_url):
    free, premium, pro = (owner(database_url, t) for t in ("free", "premium", "pro"))
    org_short = owner(database_url, "enterprise", org_overrides='{"history_days": 1}')
    user_forever = owner(database_url, "enterprise", overrides='{"history_days": null}',
                         org_overrides='{"history_days": 1}')
    for room, days, text in [(free, 6, "free-6d"), (free, 8, "free-8d"), (premium, 29, "premium-29d"),
                             (premium, 31, "premium-31d"), (pro, 89, "pro-89d"), (pro, 91, "pro-91d"),
                             (org_short, 0.5, "org-12h"), (org_short, 2, "org-2d"), (user_forever, 400, "user-400d")]:
        segment(database_url, room, days, text)
    before = {t: metrics.RETENTION_DELETED.labels(t)._value.get() for t in ("free", "premium", "pro", "enterprise")}

    async def run():
        db = Database(database_url)
        try:
            return await purge(db)
        finally:
            await db.close()

    deleted = asyncio.run(run())
    assert deleted == {"free": 1, "premium": 1, "pro": 1, "enterprise": 1}
    assert remaining(database_url) == {"free-6d", "premium-29d", "pro-89d", "org-12h", "user-400d"}
    assert {t: metrics.RETENTION_DELETED.labels(t)._value.get() - v for t, v in before.items()} == deleted


@pytest.fixture
def jobs_worker(db_settings, redis_url, tmp_path):
    """``babelroom jobs --beat`` as a subprocess: a real Celery worker with beat, on the test Redis."""
    port = free_port()
    log = tmp_path / "jobs.log"
    env = {**os.environ, "BABELROOM_REDIS_URL": redis_url, "BABELROOM_DATABASE_URL": db_settings.database_url,
           "BABELROOM_STATE_DIR": str(tmp_path), "BABELROOM_RETENTION_INTERVAL_S": "1",
           "BABELROOM_JOBS_METRICS_PORT": str(port), "BABELROOM_INSTANCE_ID": "jobs-test", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "jobs", "--beat"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    yield f"http://127.0.0.1:{port}", log
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_real_celery_worker_deletes_expired_transcripts_on_schedule(database_url, jobs_worker):
    url, log = jobs_worker
    free = owner(database_url, "free")
    segment(database_url, free, 8, "old")
    segment(database_url, free, 1, "recent")
    deadline = time.monotonic() + 90
    while remaining(database_url) != {"recent"}:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    while '"retention.deleted"' not in log.read_text():  # the worker logs the run after committing it
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    assert "Task babelroom.retention" in log.read_text()
    scraped = httpx.get(f"{url}/metrics", timeout=5).text
    count = re.search(r'^babelroom_retention_deleted_total\{tier="free"\} (\S+)$', scraped, re.M)
    assert count and float(count.group(1)) == 1.0
    assert httpx.get(f"{url}/readyz", timeout=5).json()["checks"] == {"redis": True}


def test_documents_go_after_their_uploaders_history_days_and_leave_the_cache(database_url, redis_url):
    free, pro = owner(database_url, "free"), owner(database_url, "pro")
    for room, days, name in [(free, 6, "free-6d"), (free, 8, "free-8d"), (pro, 89, "pro-89d"), (pro, 91, "pro-91d")]:
        run_sql(database_url, "INSERT INTO documents (id, user_id, room_id, filename, content_type, size_bytes, "
                "terms, created_at) SELECT gen_random_uuid(), owner_id, id, :name, 'text/plain', 1, "
                "ARRAY[CAST(:term AS text)], :at FROM rooms WHERE id = :room",
                params={"room": uuid.UUID(room), "name": name, "term": name,
                        "at": datetime.now(UTC) - timedelta(days=days)})

    async def run():
        db, redis = Database(database_url), aioredis.from_url(redis_url)
        try:
            await redis.set(terms_key(free), json.dumps(["free-6d", "free-8d"]))
            deleted = await purge_documents(db, redis)
            return deleted, json.loads(await redis.get(terms_key(free))), json.loads(await redis.get(terms_key(pro)))
        finally:
            await redis.aclose()
            await db.close()

    deleted, free_terms, pro_terms = asyncio.run(run())
    assert deleted == 2 and (free_terms, pro_terms) == (["free-6d"], ["pro-89d"])
    assert {r["filename"] for r in run_sql(database_url, "SELECT filename FROM documents")} == {"free-6d", "pro-89d"}
