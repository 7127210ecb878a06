"""The MT stage publishes each non-empty final once more, with all its translations, to ``finals``
(the persist consumer's input); partials and retractions are not recorded."""

import redis.asyncio as aioredis

from babelroom.bus.schemas import FinalRecord, Transcript
from babelroom.bus.streams import FINALS_STREAM, Entry
from babelroom.captions import listeners
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.worker import MtStage

HEADER = dict(room="r", speaker="u1", speaker_name="Ana", language="en", audio_start_ms=0, audio_end_ms=1200)


async def test_finals_with_every_translation_go_to_the_finals_stream(settings, apertium, redis_client, redis_url):
    client = aioredis.from_url(redis_url)
    try:
        await listeners.register(client, "r", "es", "c1")
        stage = MtStage(settings, client, CachedTranslator(apertium, redis_client, 60))
        batch = [
            Transcript(**HEADER, segment_id="s1", seq=1, kind="final", text="Hello, my friends.", avg_logprob=-0.2,
                       timings={"segment_end": 1_700_000_000_000.0}),
            Transcript(**HEADER, segment_id="s2", seq=2, kind="partial", revision=1, text="and"),
            Transcript(**HEADER, segment_id="s3", seq=3, kind="final", text="", dropped="no_speech"),
        ]
        await stage.handle([(Entry(str(i), {}), m) for i, m in enumerate(batch)])
        records = [FinalRecord.from_fields(f) for _, f in await client.xrange(FINALS_STREAM)]
    finally:
        await client.aclose()
    assert len(records) == 1
    (record,) = records
    assert (record.segment_id, record.seq, record.room_seq, record.avg_logprob) == ("s1", 1, 1, -0.2)
    assert record.translations["en"].text == "Hello, my friends." and record.translations["en"].backend == "source"
    assert record.translations["es"].backend == "apertium" and "amigos" in record.translations["es"].text.lower()
    assert record.timings["segment_end"] == 1_700_000_000_000.0 and "mt_end" in record.timings
