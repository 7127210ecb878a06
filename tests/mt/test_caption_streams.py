"""Where MT puts captions: finals in ``captions:{room}`` (for ``since=`` replay), partials and retractions in
the short side stream ``captions:{room}:partial`` (issue 8: partials held in the room's stream until MAXLEN
made Redis grow through the whole soak)."""

import redis.asyncio as aioredis

from babelroom.bus.schemas import Caption, Transcript
from babelroom.bus.streams import Entry, captions_stream, partial_captions_stream
from babelroom.captions import listeners
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.worker import MtStage

HEADER = dict(room="r", speaker="u1", speaker_name="Ana", language="en", audio_start_ms=0, audio_end_ms=1200)
NODE_ENTRIES = 100  # redis stream-node-max-entries: approximate MAXLEN trims whole nodes of this many


async def test_partials_go_to_a_bounded_side_stream_and_only_finals_stay(settings, apertium, redis_client,
                                                                          redis_url):
    settings = settings.model_copy(update={"captions_partial_maxlen": 50, "mt_translate_partials": True,
                                           "bus_partial_max_age_ms": 10**9})
    client = aioredis.from_url(redis_url)
    try:
        await listeners.register(client, "r", "es", "c1")
        stage = MtStage(settings, client, CachedTranslator(apertium, redis_client, 60))
        for seq in range(1, 61):  # 60 segments: 5 partials each, then a final (or, every 10th, a retraction)
            batch = [Transcript(**HEADER, segment_id=f"s{seq}", seq=seq, kind="partial", revision=r, text="hello")
                     for r in range(1, 6)]
            text = "" if seq % 10 == 0 else "Hello, my friends."
            batch.append(Transcript(**HEADER, segment_id=f"s{seq}", seq=seq, kind="final", text=text))
            for m in batch:  # one at a time, as they come: prioritise keeps only a batch's newest partial
                await stage.handle([(Entry("0-1", {}), m)])
        kept = [Caption.from_fields(f) for _, f in await client.xrange(captions_stream("r"))]
        side = [Caption.from_fields(f) for _, f in await client.xrange(partial_captions_stream("r"))]
        ttl_kept, ttl_side = await client.ttl(captions_stream("r")), await client.ttl(partial_captions_stream("r"))
    finally:
        await client.aclose()
    assert {c.type for c in kept} == {"final"}
    assert len(kept) == 54 * 2  # every non-empty final, in en and es
    assert [c.room_seq for c in kept if c.translation.language == "es"] == list(range(1, 55))
    assert {c.type for c in side} == {"partial", "retract"} and side[-1].type == "retract"
    assert len(side) <= 50 + NODE_ENTRIES  # 60 × (5 partials + 1) × 2 languages were published
    assert 0 < ttl_side <= settings.captions_partial_ttl_s < ttl_kept <= settings.captions_retention_s


async def test_finals_older_than_the_replay_window_are_trimmed(settings, apertium, redis_client, redis_url):
    """``since=`` replays the last ``captions_replay_s`` of finals; older ones are in the saved transcript."""
    client = aioredis.from_url(redis_url)
    try:
        stream = captions_stream("r")
        old = Caption(**HEADER, segment_id="s0", seq=0, type="final", room_seq=0, text="old",
                      translation={"language": "en", "text": "old", "backend": "source"})
        for ms in range(1, 251):  # 250 finals from 1970: whole stream nodes of them go
            await client.xadd(stream, old.to_fields(), id=f"{ms}-0")
        stage = MtStage(settings, client, CachedTranslator(apertium, redis_client, 60))
        await stage.handle([(Entry("0-1", {}), Transcript(**HEADER, segment_id="s1", seq=1, kind="final",
                                                          text="Hello, my friends."))])
        kept = [(entry_id.decode(), Caption.from_fields(f)) for entry_id, f in await client.xrange(stream)]
    finally:
        await client.aclose()
    assert len(kept) <= 250 - 2 * NODE_ENTRIES + 1  # approximate: only whole nodes are trimmed
    assert kept[-1][1].segment_id == "s1"
