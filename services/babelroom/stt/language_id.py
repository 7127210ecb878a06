"""The spoken language of a speaker who joined with ``spoken_language=auto``, identified and locked.

Until a speaker's language is locked, each of their segments is run through Whisper's language
identification (:meth:`babelroom.stt.base.SpeechToText.identify_language`, restricted to the offered
languages, :data:`babelroom.mt.routes.OFFERED_LANGUAGES`) and decoded in the language it found. The
language is locked for the speaker in the room once

- one decode of at least :data:`MIN_AUDIO_S` of audio gives it a probability ≥ :data:`LOCK_PROBABILITY`, or
- two different segments (each ≥ :data:`MIN_AUDIO_S`) both rank it first, whatever the probability.

Why these figures (Whisper base, int8, the 36 clips of the shared es/de/fr/pt/vi set): on the first 1 s
of a clip the identification is wrong on 25 clips, twice with a probability above 0.8 (0.81, 0.89); from
2 s on no wrong answer reaches 0.65, and with 3 s every clip is right. Quiet clips stay below 0.8 even
whole (es, 4.1 s: 0.40), hence the agreement of two segments.

The lock and the pending candidate live in Redis (``stt:lang:{room}:{speaker}`` and
``stt:lang-candidate:{room}:{speaker}``, renewed on every use for :data:`LOCK_TTL_S`), because any STT
worker may take the speaker's next segment. The first worker to lock wins (``SET NX``); the others read
its language.
"""

from __future__ import annotations

import json
from typing import cast

import redis.asyncio as aioredis

from babelroom import metrics

#: The ``spoken_language`` (join request, audio header) that asks for language identification.
AUTO = "auto"
#: Probability (over every Whisper language) at which one decode locks the language.
LOCK_PROBABILITY = 0.8
#: Shorter audio is identified (the segment must be decoded in some language) but never locks.
MIN_AUDIO_S = 2.0
#: How long a lock is kept after the speaker's last segment (s).
LOCK_TTL_S = 6 * 3600


class LanguageLocks:
    """Per speaker and room: the locked language, or the candidate waiting for agreement.

    Args:
        redis: asyncio Redis client (bytes responses).
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def locked(self, room: str, speaker: str) -> str | None:
        """The speaker's locked language (and the lock renewed), or None while it is not locked."""
        key = _lock_key(room, speaker)
        value = cast(bytes | None, await self.redis.get(key))
        if value is None:
            return None
        await self.redis.expire(key, LOCK_TTL_S)
        return value.decode()

    async def observe(self, room: str, speaker: str, segment_id: str, language: str, probability: float,
                      audio_s: float) -> str | None:
        """Record one identification; return the speaker's locked language when it is (now) locked.

        Args:
            segment_id: the decoded segment (agreement needs two different ones).
            language: the most probable offered language of the decode.
            probability: its probability (0..1).
            audio_s: the decoded audio's length (s).
        """
        if audio_s < MIN_AUDIO_S:
            return await self.locked(room, speaker)
        candidate_key = _candidate_key(room, speaker)
        lock = probability >= LOCK_PROBABILITY
        if not lock:
            raw = cast(bytes | None, await self.redis.get(candidate_key))
            previous = json.loads(raw) if raw else None
            lock = previous is not None and previous["language"] == language and previous["segment"] != segment_id
            if not lock:
                await self.redis.set(candidate_key, json.dumps({"language": language, "segment": segment_id}),
                                     ex=LOCK_TTL_S)
                return await self.locked(room, speaker)
        if await self.redis.set(_lock_key(room, speaker), language, nx=True, ex=LOCK_TTL_S):
            metrics.STT_LANGUAGE_LOCKED.labels(language).inc()
            await self.redis.delete(candidate_key)
            return language
        return await self.locked(room, speaker)


def _lock_key(room: str, speaker: str) -> str:
    return f"stt:lang:{room}:{speaker}"


def _candidate_key(room: str, speaker: str) -> str:
    return f"stt:lang-candidate:{room}:{speaker}"
