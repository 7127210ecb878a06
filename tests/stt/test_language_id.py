"""The language lock of ``spoken_language=auto`` speakers, on a real Redis (no model here)."""

from __future__ import annotations

from babelroom.stt.language_id import LOCK_PROBABILITY, MIN_AUDIO_S, LanguageLocks


async def test_one_confident_decode_locks(aredis):
    locks = LanguageLocks(aredis)
    assert await locks.locked("r", "ana") is None
    assert await locks.observe("r", "ana", "s1", "es", LOCK_PROBABILITY, MIN_AUDIO_S) == "es"
    assert await locks.locked("r", "ana") == "es"
    assert await locks.locked("r", "bob") is None and await locks.locked("other", "ana") is None


async def test_short_audio_never_locks_however_confident(aredis):
    locks = LanguageLocks(aredis)
    assert await locks.observe("r", "ana", "s1", "en", 0.99, MIN_AUDIO_S - 0.1) is None
    assert await locks.locked("r", "ana") is None


async def test_two_segments_that_agree_lock_below_the_threshold(aredis):
    locks = LanguageLocks(aredis)
    assert await locks.observe("r", "ana", "s1", "es", 0.4, 3.0) is None
    assert await locks.observe("r", "ana", "s1", "es", 0.4, 4.0) is None  # a partial of the same segment
    assert await locks.observe("r", "ana", "s2", "pt", 0.4, 3.0) is None  # disagreement: pt is the candidate
    assert await locks.observe("r", "ana", "s3", "pt", 0.5, 3.0) == "pt"


async def test_the_first_lock_wins(aredis):
    first, second = LanguageLocks(aredis), LanguageLocks(aredis)
    assert await first.observe("r", "ana", "s1", "de", 0.9, 3.0) == "de"
    assert await second.observe("r", "ana", "s2", "fr", 0.95, 3.0) == "de"
