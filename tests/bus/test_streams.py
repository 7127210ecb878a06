"""The bus against a real Redis: delivery, reclaiming a dead consumer's entries, shedding, trimming."""

import asyncio

from babelroom import metrics
from babelroom.bus.schemas import SegmentAudio, Transcript
from babelroom.bus.stage import prioritise, run_stage
from babelroom.bus.streams import Consumer, Publisher, ensure_group, group_backlog

HEADER = dict(room="r", speaker="a", speaker_name="A", language="en", seq=1, audio_start_ms=0, audio_end_ms=900)


def transcript(kind="final", segment_id="s1", revision=-1, **kw):
    return Transcript(**HEADER, segment_id=segment_id, kind=kind, revision=revision, text="hi", **kw)


def dropped(stream, kind, reason):
    return metrics.BUS_DROPPED.labels(stream, kind, reason)._value.get()


async def test_publish_read_ack(aredis):
    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    consumer = Consumer(aredis, "t", "g", "c1", claim_idle_ms=60_000, block_ms=100)
    await consumer.start()
    ids = [await pub.publish(transcript(segment_id=f"s{i}")) for i in range(3)]
    entries = await consumer.read(10)
    assert [e.id for e in entries] == ids
    assert [Transcript.from_fields(e.fields).segment_id for e in entries] == ["s0", "s1", "s2"]
    assert await group_backlog(aredis, "t", "g") == 3  # read but not acknowledged
    for e in entries:
        await consumer.ack(e.id)
    assert await group_backlog(aredis, "t", "g") == 0


async def test_dead_consumer_entries_are_reclaimed(aredis):
    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    dead = Consumer(aredis, "t", "g", "dead", claim_idle_ms=50, block_ms=100)
    live = Consumer(aredis, "t", "g", "live", claim_idle_ms=50, block_ms=100)
    await dead.start()
    await pub.publish(transcript(segment_id="lost-if-not-reclaimed"))
    taken = await dead.read(1)  # "dead" reads, then dies without acking
    assert len(taken) == 1
    before = metrics.BUS_RECLAIMED.labels("t")._value.get()
    await asyncio.sleep(0.1)
    again = await live.read(1)
    assert [e.id for e in again] == [taken[0].id] and again[0].reclaimed
    assert metrics.BUS_RECLAIMED.labels("t")._value.get() == before + 1


async def test_overload_sheds_partials_never_finals(aredis):
    await ensure_group(aredis, "t", "g")
    pub = Publisher(aredis, "t", "g", maxlen=1000, overload_depth=5, depth_ttl_s=0)
    for i in range(6):
        await pub.publish(transcript(segment_id=f"f{i}"))
    shed_before = dropped("t", "partial", "overload")
    assert await pub.publish(transcript(kind="partial", revision=1), droppable=True) is None
    assert dropped("t", "partial", "overload") == shed_before + 1
    assert await pub.publish(transcript(segment_id="final-under-load")) is not None
    assert await aredis.xlen("t") == 7
    assert metrics.BUS_QUEUE_DEPTH.labels("t")._value.get() == 6


async def test_streams_are_trimmed(aredis):
    pub = Publisher(aredis, "t", "g", maxlen=10, overload_depth=10_000)
    for i in range(500):
        await pub.publish(transcript(segment_id=f"s{i}"))
    assert await aredis.xlen("t") < 200  # approximate trimming (~): whole macro-nodes are removed


async def test_run_stage_acks_processed_skips_poison_and_retries_failures(aredis):
    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    await aredis.xadd("t", {"m": b"not json"})
    await pub.publish(transcript(segment_id="boom"))
    await pub.publish(transcript(segment_id="ok"))
    seen, attempts = [], {"boom": 0}
    stop = asyncio.Event()

    async def handler(batch):
        for _, msg in batch:
            if msg.segment_id == "boom" and attempts["boom"] == 0:
                attempts["boom"] += 1
                raise RuntimeError("transient")
            seen.append(msg.segment_id)
        if "ok" in seen and "boom" in seen:
            stop.set()

    poison_before = metrics.BUS_POISON.labels("t")._value.get()
    consumer = Consumer(aredis, "t", "g", "c", claim_idle_ms=50, block_ms=50)
    await asyncio.wait_for(run_stage(consumer, Transcript, handler, batch_size=1, stop=stop), 10)
    assert metrics.BUS_POISON.labels("t")._value.get() == poison_before + 1
    assert seen.count("boom") == 1 and "ok" in seen
    assert await group_backlog(aredis, "t", "g") == 0


def test_prioritise_finals_first_newest_fresh_partials():
    msgs = [
        transcript(kind="partial", segment_id="a", revision=1, timings={"stt_end": 0.0}),  # stale
        transcript(kind="partial", segment_id="b", revision=1),
        transcript(kind="partial", segment_id="b", revision=2),
        transcript(kind="partial", segment_id="c", revision=1),
        transcript(kind="final", segment_id="c"),
    ]
    stale, superseded = dropped("x", "partial", "stale"), dropped("x", "partial", "superseded")
    out = prioritise(msgs, "x", max_age_ms=3000, stamp="stt_end")
    assert [(m.kind, m.segment_id, m.revision) for m in out] == [("final", "c", -1), ("partial", "b", 2)]
    assert dropped("x", "partial", "stale") == stale + 1
    assert dropped("x", "partial", "superseded") == superseded + 2


def test_segment_audio_partials_are_prioritised_too():
    msgs = [SegmentAudio(**HEADER, segment_id="s", kind="partial", revision=r) for r in (2, 1)]
    assert [m.revision for m in prioritise(msgs, "audio", max_age_ms=1000, stamp="published")] == [2]


async def test_backlog_ignores_a_lag_counter_behind_the_stream(aredis):
    """Redis's ``lag`` (entries added minus the group's entries-read counter) can stay wrong in a
    long-lived Redis: a backlog taken from it shed every partial of an idle stack."""
    pub = Publisher(aredis, "t", "g", maxlen=1000, overload_depth=2, depth_ttl_s=0)
    consumer = Consumer(aredis, "t", "g", "c", claim_idle_ms=60_000, block_ms=100, delete_acked=True)
    await consumer.start()
    for i in range(5):
        await pub.publish(transcript(segment_id=f"f{i}"))
    for entry in await consumer.read(10):
        await consumer.ack(entry.id)  # read, acknowledged and deleted: nothing is waiting
    await aredis.execute_command("XGROUP", "SETID", "t", "g", "$", "ENTRIESREAD", 0)  # the counter falls behind
    assert (await aredis.xinfo_groups("t"))[0]["lag"] == 5 and await aredis.xlen("t") == 0
    assert await group_backlog(aredis, "t", "g") == 0
    assert await pub.publish(transcript(kind="partial", revision=1), droppable=True) is not None
