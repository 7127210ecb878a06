"""Jobs lost with the broker are queued again by beat's ``babelroom.requeue_pending``: documents still
pending indexing and voice samples still pending their speaker check, past ``requeue_pending_after_s``; never
what is recent, done, or expired. A real PostgreSQL and Redis (Celery's queues are Redis lists)."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import redis
from prometheus_client import REGISTRY
from tests.conftest import run_sql
from tests.context.test_documents_api import queued_jobs

from babelroom.config import Settings
from babelroom.context.queueing import CONTEXT_QUEUE, INDEX_TASK
from babelroom.jobs.app import MAINTENANCE_QUEUE, make_app
from babelroom.jobs.requeue import _requeue_now
from babelroom.voice.queueing import CHECK_TASK, VOICE_QUEUE


def user(url: str) -> str:
    return str(run_sql(url, "INSERT INTO users (id, email, password_hash, display_name, tier_name) VALUES "
                            "(gen_random_uuid(), :email, 'x', 'U', 'pro') RETURNING id",
                       params={"email": f"{uuid.uuid4().hex[:8]}@t.local"})[0]["id"])


def document(url: str, owner: str, minutes_old: float, status: str) -> str:
    return str(run_sql(url, "INSERT INTO documents (id, user_id, filename, content_type, size_bytes, created_at, "
                            "text, index_status) VALUES (gen_random_uuid(), :owner, 'notes.md', 'text/markdown', 5, "
                            ":at, 'notes', :status) RETURNING id",
                       params={"owner": uuid.UUID(owner), "status": status,
                               "at": datetime.now(UTC) - timedelta(minutes=minutes_old)})[0]["id"])


def sample(url: str, owner: str, minutes_old: float, check: str, expired: bool = False) -> str:
    return str(run_sql(url, "INSERT INTO voice_samples (id, user_id, name, language, duration_s, created_at, "
                            "expires_at, speaker_check) VALUES (gen_random_uuid(), :owner, 's', 'en', 12, :at, "
                            ":expires, :check) RETURNING id",
                       params={"owner": uuid.UUID(owner), "check": check,
                               "at": datetime.now(UTC) - timedelta(minutes=minutes_old),
                               "expires": datetime.now(UTC) - timedelta(minutes=1) if expired else None})[0]["id"])


def requeued(job: str) -> float:
    return REGISTRY.get_sample_value("babelroom_jobs_requeued_total", {"job": job}) or 0.0


def test_only_long_pending_rows_get_their_job_again_and_it_expires(db_settings: Settings, database_url: str,
                                                                    redis_url: str):
    owner = user(database_url)
    lost_document = document(database_url, owner, 30, "pending")
    document(database_url, owner, 1, "pending")   # recent: its first job may still be on its way
    document(database_url, owner, 30, "indexed")
    lost_sample = sample(database_url, owner, 30, "pending")
    sample(database_url, owner, 1, "pending")
    sample(database_url, owner, 30, "passed")
    sample(database_url, owner, 30, "pending", expired=True)  # retention deletes it
    settings = db_settings.model_copy(update={"requeue_pending_after_s": 600.0, "requeue_interval_s": 300.0})
    before = requeued("index"), requeued("speaker_check")

    assert asyncio.run(_requeue_now(settings)) == {"index": 1, "speaker_check": 1}

    assert queued_jobs(redis_url, CONTEXT_QUEUE) == [(INDEX_TASK, [lost_document])]
    assert queued_jobs(redis_url, VOICE_QUEUE) == [(CHECK_TASK, [lost_sample])]
    assert (requeued("index"), requeued("speaker_check")) == (before[0] + 1, before[1] + 1)
    message = json.loads(redis.Redis.from_url(redis_url).lindex(CONTEXT_QUEUE, 0))
    assert message["headers"]["expires"]  # a worker down for hours finds one job per row, not one per run


def test_beat_schedules_it_on_the_maintenance_queue(db_settings: Settings):
    schedule = make_app(db_settings).conf.beat_schedule["requeue-pending"]
    assert schedule["task"] == "babelroom.requeue_pending"
    assert schedule["schedule"] == db_settings.requeue_interval_s
    assert schedule["options"]["queue"] == MAINTENANCE_QUEUE
