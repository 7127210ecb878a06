"""Speakers keep their labels from one window to the next, and a failing window only costs labels."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
import redis.asyncio as aioredis
from tests.conftest import run_sql
from tests.diarization.test_job import SHORT_FINALS, ingest_sample, pro_room, room_notices

from babelroom import metrics
from babelroom.config import Settings, get_settings
from babelroom.db.session import Database
from babelroom.diarization import buffer
from babelroom.jobs import diarization as job


async def two_windows(settings: Settings, room: str, speaker: str, audio: np.ndarray) -> tuple[dict, dict]:
    redis = aioredis.from_url(settings.redis_url)
    db = Database.from_settings(settings)
    try:
        await buffer.enable(redis, room, 3600)
        await ingest_sample(settings, redis, room, speaker, audio[: 20 * 16_000])
        first = await job.diarize_window(settings, redis, db, room, speaker)
        await ingest_sample(settings, redis, room, speaker, audio[20 * 16_000:])
        second = await job.diarize_window(settings, redis, db, room, speaker)
        return first, second
    finally:
        await redis.aclose()
        await db.close()


def test_labels_stay_with_their_speaker_across_windows(db_settings: Settings, database_url: str,
                                                       sample_audio: np.ndarray) -> None:
    room, speaker = pro_room(database_url)
    settings = db_settings.model_copy(update=SHORT_FINALS)
    first, second = asyncio.run(two_windows(settings, room, speaker, sample_audio))
    # measured: first {1: S1, 2: S1, 3: S2}, second {1: S1, 2: S1, 3: S2, 4: S2, 5: S2, 6: S1}
    assert len(first) == 3 and len(second) == 6
    assert all(second[seq] == label for seq, label in first.items())  # the same voice, the same label
    assert second[1] == second[2] == second[6] != second[3] == second[4] == second[5]  # as the reference RTTM


def test_a_failing_window_costs_labels_not_the_call(db_settings: Settings, database_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    room, speaker = pro_room(database_url)

    async def corrupt() -> None:
        redis = aioredis.from_url(db_settings.redis_url)
        await redis.xadd(buffer.audio_key(room, speaker), {"seq": 1, "segment_id": "s1", "start_ms": 0,
                                                            "end_ms": 1000, "pcm": b"\x01\x02\x03"})  # odd bytes
        await redis.aclose()

    asyncio.run(corrupt())
    run_sql(database_url, "INSERT INTO transcript_segments (room_id, speaker, speaker_name, seq, room_seq, "
                          "segment_id, audio_start_ms, audio_end_ms, language, text, spoken_at) VALUES (:room, "
                          ":speaker, 'Shared mic', 1, 1, 's1', 0, 1000, 'en', 'words', now())",
            params={"room": uuid.UUID(room), "speaker": speaker})  # the final of that window
    monkeypatch.setenv("BABELROOM_REDIS_URL", db_settings.redis_url)
    monkeypatch.setenv("BABELROOM_DATABASE_URL", str(db_settings.database_url))
    get_settings.cache_clear()
    failed = metrics.DIARIZATION_JOBS.labels("failed")._value.get()
    try:
        assert job.diarize(room, speaker) == 0  # the Celery task body, run here
    finally:
        get_settings.cache_clear()
    assert metrics.DIARIZATION_JOBS.labels("failed")._value.get() == failed + 1
    assert run_sql(database_url, "SELECT segment_id, speaker_label FROM transcript_segments") == [
        {"segment_id": "s1", "speaker_label": None}]  # kept, unlabelled
    assert asyncio.run(room_notices(db_settings.redis_url, room)) == []
