"""The cloned voice's pieces that need no XTTS: the latents cache beside the sample, the clear errors when
the model or coqui-tts is missing, and who may clone (tier + voice sample, real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from tests.conftest import run_sql
from tests.test_startup import STRONG, babelroom, one_line

from babelroom.bus.schemas import FinalRecord, Translation, now_ms
from babelroom.config import Settings
from babelroom.db.session import Database
from babelroom.startup import EX_CONFIG
from babelroom.voice import storage
from babelroom.voice.cloning import XTTS_QUEUE, CloneQueue, CloneSource, source_key
from babelroom.voice.latents import Latents, latents_path, load_latents, save_latents
from babelroom.voice.xtts import XttsUnavailable, XttsVoice, check_xtts_model


def latents(seed: int) -> Latents:
    rng = np.random.default_rng(seed)
    return Latents(rng.standard_normal((1, 32, 128)).astype(np.float32),
                   rng.standard_normal((1, 512, 1)).astype(np.float32))


def test_latents_are_kept_per_sample_content_and_model(tmp_path: Path) -> None:
    sample = tmp_path / "u" / "s1.flac"
    storage.write(tmp_path, "u/s1.flac", b"fLaC one recording")
    path = latents_path(sample, "model-a")
    assert path.parent == sample.parent and path.name.startswith("s1.xtts-") and path.suffix == ".npz"
    assert load_latents(path) is None  # nothing cached yet
    save_latents(path, latents(1))
    got = load_latents(path)
    assert got is not None and np.array_equal(got.gpt_cond_latent, latents(1).gpt_cond_latent)
    assert np.array_equal(got.speaker_embedding, latents(1).speaker_embedding)
    assert got.gpt_cond_latent.dtype == np.float32 and got.speaker_embedding.shape == (1, 512, 1)
    assert latents_path(sample, "model-b") != path  # another model: other latents
    storage.write(tmp_path, "u/s1.flac", b"fLaC another recording")
    assert latents_path(sample, "model-a") != path  # another sample under the same name: other latents
    with pytest.raises(FileNotFoundError):
        latents_path(tmp_path / "u" / "gone.flac", "model-a")


def test_unreadable_latents_count_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "s.xtts-x.npz"
    path.write_bytes(b"not a numpy archive")
    assert load_latents(path) is None


def test_removing_a_sample_removes_its_latents_only(tmp_path: Path) -> None:
    storage.write(tmp_path, "u/s1.flac", b"fLaC a")
    storage.write(tmp_path, "u/s2.flac", b"fLaC b")
    for name in ("s1.flac", "s2.flac"):
        save_latents(latents_path(tmp_path / "u" / name, "m"), latents(2))
    storage.remove(tmp_path, "u/s1.flac")
    assert sorted(p.name.split(".")[0] for p in (tmp_path / "u").iterdir()) == ["s2", "s2"]


def test_a_missing_checkpoint_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(XttsUnavailable) as info:
        check_xtts_model(tmp_path)
    message = str(info.value)
    assert "model.pth, vocab.json" in message and str(tmp_path) in message and "make models" in message
    assert "\n" not in message


def test_without_coqui_tts_the_voice_says_which_environment(tmp_path: Path) -> None:
    if importlib.util.find_spec("TTS") is not None:  # the main venv has no coqui-tts; .venv-xtts has
        pytest.skip("coqui-tts is importable in this environment")
    for name in ("config.json", "model.pth", "vocab.json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(XttsUnavailable, match=r"coqui-tts is not importable.*\.venv-xtts"):
        XttsVoice(tmp_path)


def test_babelroom_xtts_without_the_model_exits_78_with_one_line(redis_url: str, tmp_path: Path) -> None:
    result = babelroom("xtts", BABELROOM_ENVIRONMENT="production", BABELROOM_JWT_SECRET=STRONG,
                       BABELROOM_REDIS_URL=redis_url, BABELROOM_MODELS_DIR=str(tmp_path))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    line = one_line(result)
    assert str(tmp_path / "xtts-v2") in line and "make models" in line


def user(database_url: str, tier: str) -> str:
    return str(run_sql(database_url, "INSERT INTO users (id, email, password_hash, display_name, tier_name) VALUES "
                                     "(gen_random_uuid(), :email, 'x', 'U', :tier) RETURNING id",
                       params={"email": f"{uuid.uuid4().hex[:8]}@t.local", "tier": tier})[0]["id"])


def sample(database_url: str, owner: str, path: str | None, *, age_s: float = 0, expired: bool = False,
           check: str = "passed") -> str:
    return str(run_sql(
        database_url, "INSERT INTO voice_samples (id, user_id, name, language, duration_s, storage_path, created_at, "
                      "expires_at, speaker_check) VALUES (gen_random_uuid(), :owner, 'n', 'en', 12, :path, :created, "
                      ":expires, :check) RETURNING id",
        params={"owner": uuid.UUID(owner), "path": path, "created": datetime.now(UTC) - timedelta(seconds=age_s),
                "expires": datetime.now(UTC) - timedelta(days=1) if expired else None, "check": check})[0]["id"])


def final(speaker: str) -> FinalRecord:
    return FinalRecord(room="r", speaker=speaker, speaker_name="Ana", language="en", segment_id="s1", seq=1,
                       audio_start_ms=0, audio_end_ms=900, room_seq=1, text="Hello.", timings={"mt_end": now_ms()},
                       translations={"es": Translation(language="es", text="Hola.", backend="apertium")})


def queued(result: str) -> float:
    return REGISTRY.get_sample_value("babelroom_xtts_queued_total", {"result": result}) or 0.0


def test_premium_speakers_with_a_sample_are_queued_others_not(db_settings: Settings, database_url: str) -> None:
    premium, free, without = user(database_url, "premium"), user(database_url, "free"), user(database_url, "premium")
    sample(database_url, premium, f"{premium}/old.flac", age_s=60)
    newest = sample(database_url, premium, f"{premium}/new.flac")
    sample(database_url, premium, f"{premium}/expired.flac", expired=True)
    sample(database_url, premium, f"{premium}/pending.flac", age_s=-5, check="pending")  # newer, not checked yet
    sample(database_url, premium, f"{premium}/two-voices.flac", age_s=-10, check="failed")  # newer, two speakers
    sample(database_url, free, f"{free}/a.flac")
    wanted = CloneSource(newest, f"{premium}/new.flac")

    async def lookups(redis: aioredis.Redis, clones: CloneQueue) -> None:
        assert await clones.source(premium) == wanted
        assert await clones.source(free) is None  # no voice_clone in the free tier
        assert await clones.source(without) is None  # premium, but no sample
        assert await clones.source("u1") is None  # not a user id (a test speaker)
        assert await redis.ttl(source_key(premium)) > 0 and await redis.get(source_key(free)) == b"-"

    async def offers(redis: aioredis.Redis, clones: CloneQueue) -> None:
        # the answer comes from Redis until it expires: the database is not asked per final
        assert await clones.source(premium) == wanted
        before = {r: queued(r) for r in ("queued", "no_clone")}
        assert await clones.offer(final(premium), "es") is True
        assert await clones.offer(final(free), "es") is False
        assert (queued("queued"), queued("no_clone")) == (before["queued"] + 1, before["no_clone"] + 1)
        assert await redis.llen(XTTS_QUEUE) == 1  # the Celery message waits on the xtts queue

    asyncio.run(with_queue(db_settings, lookups))
    run_sql(database_url, f"DELETE FROM voice_samples WHERE user_id = '{premium}'")
    asyncio.run(with_queue(db_settings, offers))


async def with_queue(settings: Settings, check: Callable[[aioredis.Redis, CloneQueue], Awaitable[None]],
                     db: Database | None = None) -> None:
    redis = aioredis.from_url(settings.redis_url)
    db = db or Database.from_settings(settings)
    try:
        await check(redis, CloneQueue(settings, redis, db))
    finally:
        await redis.aclose()
        await db.close()


def test_an_unreachable_database_costs_the_clone_only(settings: Settings) -> None:
    before = queued("lookup_failed")

    async def offer(_: aioredis.Redis, clones: CloneQueue) -> None:
        assert await clones.offer(final(str(uuid.uuid4())), "es") is False

    asyncio.run(with_queue(settings, offer, Database("postgresql+asyncpg://nobody:x@127.0.0.1:9/none")))
    assert queued("lookup_failed") == before + 1
