"""The consume loop rides out Redis outages (started before Redis, Redis restarted empty, data lost),
holds batches while a dependency is down, and dead-letters entries that can never be processed."""

import asyncio
import signal
import time

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from babelroom import metrics
from babelroom.bus.health import StageHealth
from babelroom.bus.schemas import Transcript
from babelroom.bus.stage import BadEntry, DependencyDown, run_stage
from babelroom.bus.streams import Consumer, Publisher, dead_letter_stream, group_backlog, trim_consumed

HEADER = dict(room="r", speaker="a", speaker_name="A", language="en", seq=1, audio_start_ms=0, audio_end_ms=900)


def transcript(segment_id: str) -> Transcript:
    return Transcript(**HEADER, segment_id=segment_id, kind="final", text="hi")


async def eventually(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def publish_retrying(pub: Publisher, msg: Transcript) -> None:
    """Publish as a producer does after a Redis restart: its first command may meet the dead connection."""
    for _ in range(50):
        try:
            await pub.publish(msg)
            return
        except redis.exceptions.ConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("could not publish")


class Stage:
    """``run_stage`` on stream ``t``, group ``g``, recording the segment ids it handled."""

    def __init__(self, client: aioredis.Redis, handler=None, claim_idle_ms: int = 60_000) -> None:
        self.seen: list[str] = []
        self.stop = asyncio.Event()
        self.health = StageHealth(0.1)
        self.consumer = Consumer(client, "t", "g", "c", claim_idle_ms=claim_idle_ms, block_ms=100)
        self.task = asyncio.create_task(run_stage(
            self.consumer, Transcript, handler or self.record, batch_size=4, stop=self.stop, health=self.health))

    async def record(self, batch) -> None:
        self.seen.extend(m.segment_id for _, m in batch)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def test_a_stage_started_before_redis_consumes_once_it_is_up(own_redis):
    client = aioredis.from_url(own_redis.url)
    stage = Stage(client)
    await asyncio.sleep(0.5)
    assert stage.health.state == "reconnecting" and not stage.health.consuming()
    assert not stage.task.done()
    reconnects = metrics.BUS_RECONNECTS.labels("t")._value.get()
    own_redis.start()
    await Publisher(client, "t", "g", maxlen=100, overload_depth=10).publish(transcript("after-start"))
    await eventually(lambda: stage.seen == ["after-start"])
    assert stage.health.consuming() and stage.health.alive()
    assert metrics.BUS_RECONNECTS.labels("t")._value.get() == reconnects + 1
    await stage.close()
    await client.aclose()


async def test_a_stage_goes_on_after_redis_restarts_empty(own_redis):
    own_redis.start()
    client = aioredis.from_url(own_redis.url)
    pub = Publisher(client, "t", "g", maxlen=100, overload_depth=10)
    stage = Stage(client)
    await pub.publish(transcript("before"))
    await eventually(lambda: stage.seen == ["before"])
    own_redis.restart()  # the stream and the group are gone
    await publish_retrying(pub, transcript("after-restart"))
    await eventually(lambda: stage.seen == ["before", "after-restart"])
    assert stage.health.consuming() and not stage.task.done()
    await stage.close()
    await client.aclose()


async def test_a_stage_recreates_its_group_after_data_loss(aredis):
    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    stage = Stage(aredis)
    await pub.publish(transcript("before"))
    await eventually(lambda: stage.seen == ["before"])
    await aredis.flushall()  # XREADGROUP now answers NOGROUP
    await asyncio.sleep(0.3)
    await pub.publish(transcript("after-flush"))
    await eventually(lambda: stage.seen == ["before", "after-flush"])
    await stage.close()


async def test_a_batch_is_held_while_its_dependency_is_down_and_never_counts_as_delivered(aredis):
    """The database is "down" for 10 claim periods: the entries are neither dead-lettered nor lost."""
    down_until = time.monotonic() + 2.0
    written: list[str] = []

    async def handler(batch):
        if time.monotonic() < down_until:
            raise DependencyDown("connection refused")
        written.extend(m.segment_id for _, m in batch)

    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    for i in range(3):
        await pub.publish(transcript(f"s{i}"))
    stage = Stage(aredis, handler, claim_idle_ms=200)
    other = Consumer(aredis, "t", "g", "other", claim_idle_ms=200, block_ms=10)  # another live member
    await asyncio.sleep(0.5)
    assert stage.health.state == "waiting" and stage.health.alive() and not stage.health.consuming()
    assert await other.reclaim(10) == []  # held: its idle time keeps being reset
    await eventually(lambda: written == ["s0", "s1", "s2"])
    await eventually(lambda: stage.health.consuming())
    assert await group_backlog(aredis, "t", "g") == 0
    assert await aredis.xlen(dead_letter_stream("t")) == 0
    await stage.close()


async def test_bad_entries_are_dead_lettered_with_their_reason(aredis):
    async def handler(batch):
        if any(m.segment_id == "bad" for _, m in batch):
            raise BadEntry("violates a constraint")

    dead = {r: metrics.BUS_DEAD_LETTERS.labels("t", r)._value.get() for r in ("malformed", "bad_entry")}
    pub = Publisher(aredis, "t", "g", maxlen=100, overload_depth=10)
    await aredis.xadd("t", {"m": b"not json"})
    for name in ("ok1", "bad", "ok2"):
        await pub.publish(transcript(name))
    stage = Stage(aredis, handler)
    await eventually(lambda: metrics.BUS_DEAD_LETTERS.labels("t", "bad_entry")._value.get() == dead["bad_entry"] + 1)
    letters = await aredis.xrange(dead_letter_stream("t"))
    assert [(f[b"dead_reason"], f[b"dead_group"], f[b"dead_consumer"]) for _, f in letters] == [
        (b"malformed", b"g", b"c"), (b"bad_entry", b"g", b"c")]
    assert letters[0][1][b"m"] == b"not json"  # the original fields
    assert Transcript.from_fields(letters[1][1]).segment_id == "bad"
    assert metrics.BUS_DEAD_LETTERS.labels("t", "malformed")._value.get() == dead["malformed"] + 1
    await eventually(lambda: stage.health.consuming())
    assert await group_backlog(aredis, "t", "g") == 0  # ok1 and ok2 acknowledged too
    await stage.close()


async def test_the_audio_consumer_deletes_what_it_acknowledged(aredis):
    """Audio entries carry PCM; only the stt group reads them, so handled ones are XDELed."""
    pub = Publisher(aredis, "audio", "stt", maxlen=10_000, overload_depth=100)
    consumer = Consumer(aredis, "audio", "stt", "c", claim_idle_ms=60_000, block_ms=50, delete_acked=True)
    await consumer.start()
    stop = asyncio.Event()
    handled: list[str] = []

    async def handler(batch):
        handled.extend(m.segment_id for _, m in batch)

    task = asyncio.create_task(run_stage(consumer, Transcript, handler, batch_size=8, stop=stop))
    for i in range(40):
        await pub.publish(transcript(f"s{i}"))
    await eventually(lambda: len(handled) == 40)
    assert await aredis.xlen("audio") == 0
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_frozen_redis_is_retried_not_waited_for_forever(own_redis):
    """Redis stops answering (SIGSTOP: connections stay open, nothing comes back): the client's socket
    timeout (redis-py's default: 5 s; 1.5 s here) fails the read, and the loop retries it; once Redis
    answers again, consuming goes on."""
    own_redis.start()
    client = aioredis.from_url(own_redis.url, socket_timeout=1.5)
    stage = Stage(client)
    await eventually(lambda: stage.health.consuming())
    assert own_redis.process is not None
    own_redis.process.send_signal(signal.SIGSTOP)
    try:
        await eventually(lambda: stage.health.state == "reconnecting", 5)
        assert stage.health.alive() and not stage.health.consuming()
    finally:
        own_redis.process.send_signal(signal.SIGCONT)
    await publish_retrying(Publisher(client, "t", "g", maxlen=100, overload_depth=10), transcript("after-thaw"))
    await eventually(lambda: stage.seen == ["after-thaw"])
    await stage.close()
    await client.aclose()


async def test_finals_go_only_once_every_group_has_consumed_them(aredis):
    """``finals`` has two readers (persist and tts): persist's acks trim only what tts has consumed too,
    so a final tts has not yet read (or still holds pending) stays; was: persist XDELed it at once."""
    pub = Publisher(aredis, "finals", "persist", maxlen=10_000, overload_depth=100)
    persist = Consumer(aredis, "finals", "persist", "p", claim_idle_ms=60_000, block_ms=50, trim_consumed=True)
    tts = Consumer(aredis, "finals", "tts", "t", claim_idle_ms=60_000, block_ms=50)
    await persist.start()
    await tts.start()
    for i in range(6):
        await pub.publish(transcript(f"s{i}"))

    stored = await persist.read(count=6)
    await persist.ack(*(e.id for e in stored))
    assert await aredis.xlen("finals") == 6  # tts has read nothing yet

    spoken = await tts.read(count=4)  # tts holds s0..s3: s0, s1 acked, s2, s3 pending
    await tts.ack(spoken[0].id, spoken[1].id)
    assert await trim_consumed(aredis, "finals") == 2
    remaining = [entry_id.decode() for entry_id, _ in await aredis.xrange("finals")]
    assert remaining == [e.id for e in stored[2:]]

    await tts.ack(*(e.id for e in spoken[2:]))
    for entry in await tts.read(count=2):
        await tts.ack(entry.id)
    assert await trim_consumed(aredis, "finals") == 4
    assert await aredis.xlen("finals") == 0


async def test_a_consumer_either_deletes_or_trims(aredis):
    with pytest.raises(ValueError, match="exclusive"):
        Consumer(aredis, "finals", "persist", "p", claim_idle_ms=1, delete_acked=True, trim_consumed=True)
