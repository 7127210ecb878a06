"""When the diarization job runs: at the end of the interval its first final opened, so that its window
holds every final of the interval (the last sentences of a talk included)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import numpy as np
import redis as sync_redis
import redis.asyncio as aioredis

from babelroom.config import Settings
from babelroom.diarization import buffer


async def remember_finals(settings: Settings, room: str, speaker: str, gaps_s: list[float]) -> list[float]:
    """One 1 s final per gap (sleeping the gap before each); returns when each was remembered (epoch s)."""
    redis = aioredis.from_url(settings.redis_url)
    pcm = np.zeros(16_000, dtype="<i2").tobytes()
    times = []
    try:
        for seq, gap in enumerate(gaps_s, 1):
            await asyncio.sleep(gap)
            await buffer.remember(redis, settings, room=room, speaker=speaker, seq=seq, segment_id=f"s{seq}",
                                  audio_start_ms=seq * 1000, audio_end_ms=seq * 1000 + 1000, pcm=pcm)
            times.append(time.time())
    finally:
        await redis.aclose()
    return times


def queued_jobs(redis_url: str) -> list[dict]:
    """The Celery messages waiting in the broker's ``diarization`` list: their headers."""
    raw = sync_redis.Redis.from_url(redis_url).lrange(buffer.DIARIZATION_QUEUE, 0, -1)
    return [json.loads(m)["headers"] for m in raw]


def test_one_job_per_interval_runs_after_the_intervals_last_final(settings: Settings, redis_url: str) -> None:
    settings = settings.model_copy(update={"diarization_interval_s": 2.0, "diarization_job_expires_s": 30.0})
    times = asyncio.run(remember_finals(settings, "room-1", "u1", [0.0, 0.5, 0.5]))  # three finals in 1 s
    [job] = queued_jobs(redis_url)
    assert job["task"] == buffer.DIARIZE_TASK and job["argsrepr"] == "['room-1', 'u1']"
    assert job["eta"], "queued to run at once: it would see only the interval's first final"
    eta = datetime.fromisoformat(job["eta"]).timestamp()
    assert eta >= times[-1], "the job would run before the interval's last final was buffered"
    assert abs(eta - (times[0] + 2.0)) < 0.5  # at the end of the interval the first final opened
    expires = datetime.fromisoformat(job["expires"]).timestamp()
    assert abs(expires - (eta + 30.0)) < 0.5  # a stale job is still dropped, counted from when it is due
    # the next final after the interval opens the next one
    asyncio.run(remember_finals(settings, "room-1", "u1", [2.2]))
    assert len(queued_jobs(redis_url)) == 2
