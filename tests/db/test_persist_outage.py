"""The persist consumer through a PostgreSQL outage far longer than max_deliveries × claim_idle: no
final is lost (a 35 s outage once dropped 4 of 17). A final the database refuses goes to
``finals:dead``. PostgreSQL is reached through a TCP proxy the test closes and opens again."""

import asyncio
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis.asyncio as aioredis
from tests.conftest import run_sql

from babelroom import metrics
from babelroom.bus.health import StageHealth
from babelroom.bus.schemas import FinalRecord, Translation
from babelroom.bus.streams import FINALS_STREAM, PERSIST_GROUP, dead_letter_stream, group_backlog
from babelroom.db.session import Database
from babelroom.dev.devstack import free_port
from babelroom.persist import run_persist


class PgProxy:
    """127.0.0.1:port → the embedded server's unix socket; :meth:`down` refuses and cuts connections."""

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        socket_dir = Path(parse_qs(parts.query)["host"][0])
        self.socket = next(p for p in socket_dir.glob(".s.PGSQL.*") if not p.name.endswith(".lock"))
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}{parts.path}"
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(str(self.socket))
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def room(database_url: str) -> str:
    user = run_sql(database_url, "INSERT INTO users (id, email, password_hash, display_name) VALUES "
                   "(gen_random_uuid(), :email, 'x', 'U') RETURNING id",
                   params={"email": f"{uuid.uuid4().hex}@t.local"})
    return str(run_sql(database_url, "INSERT INTO rooms (id, name, owner_id) VALUES (gen_random_uuid(), 'r', :o) "
                                     "RETURNING id", params={"o": user[0]["id"]})[0]["id"])


def final(room_id: str, n: int, speaker: str = "ana") -> FinalRecord:
    return FinalRecord(room=room_id, speaker=speaker, speaker_name="Ana", language="en", segment_id=f"s{n}", seq=n,
                       audio_start_ms=0, audio_end_ms=1000, room_seq=n, text=f"line {n}",
                       translations={"en": Translation(language="en", text=f"line {n}", backend="source")},
                       timings={"segment_end": time.time() * 1000})


def persisted(database_url: str, room_id: str) -> list[int]:
    rows = run_sql(database_url, "SELECT seq FROM transcript_segments WHERE room_id = :r ORDER BY seq",
                   params={"r": uuid.UUID(room_id)})
    return [r["seq"] for r in rows]


async def eventually(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(120)
async def test_a_database_outage_loses_no_final(database_url, redis_url, settings):
    settings = settings.model_copy(update={"bus_claim_idle_ms": 200})
    proxy = PgProxy(database_url)
    await proxy.up()
    room_id = await asyncio.to_thread(room, database_url)
    client = aioredis.from_url(redis_url)
    db = Database(proxy.url, pool_size=2)
    stop, health = asyncio.Event(), StageHealth()
    task = asyncio.create_task(run_persist(settings, client, db, stop, health))
    try:
        for n in range(1, 4):
            await client.xadd(FINALS_STREAM, final(room_id, n).to_fields())
        await eventually(lambda: persisted(database_url, room_id) == [1, 2, 3], 15)

        await proxy.down()  # PostgreSQL gone: refused, and the pooled connections cut
        for n in range(4, 18):
            await client.xadd(FINALS_STREAM, final(room_id, n).to_fields())
        await asyncio.sleep(3.0)  # 15 × claim_idle: once enough to drop every one as poison
        assert health.state == "waiting" and health.alive()
        assert await asyncio.to_thread(persisted, database_url, room_id) == [1, 2, 3]
        assert await client.xlen(FINALS_STREAM) == 14  # stored finals went with their ack; the rest are kept
        await proxy.up()
        await eventually(lambda: persisted(database_url, room_id) == list(range(1, 18)), 20)
        assert await client.xlen(dead_letter_stream(FINALS_STREAM)) == 0
        assert await client.xlen(FINALS_STREAM) == 0  # the soak's Redis grew with every stored final
        await eventually(lambda: health.consuming(), 5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await db.close()
        await client.aclose()
        if proxy.server is not None:
            await proxy.down()


async def test_a_final_the_database_refuses_is_dead_lettered(db_settings, database_url, redis_url):
    room_id = await asyncio.to_thread(room, database_url)
    client = aioredis.from_url(redis_url)
    db = Database(database_url, pool_size=2)
    stop = asyncio.Event()
    before = metrics.BUS_DEAD_LETTERS.labels(FINALS_STREAM, "bad_entry")._value.get()
    await client.xadd(FINALS_STREAM, final(room_id, 1).to_fields())
    await client.xadd(FINALS_STREAM, final(room_id, 2, speaker="x" * 300).to_fields())  # speaker is VARCHAR(128)
    await client.xadd(FINALS_STREAM, final(room_id, 3).to_fields())
    task = asyncio.create_task(run_persist(db_settings, client, db, stop))
    try:
        await eventually(lambda: persisted(database_url, room_id) == [1, 3], 15)
        letters = await client.xrange(dead_letter_stream(FINALS_STREAM))
        assert len(letters) == 1 and letters[0][1][b"dead_reason"] == b"bad_entry"
        assert FinalRecord.from_fields(letters[0][1]).seq == 2
        assert metrics.BUS_DEAD_LETTERS.labels(FINALS_STREAM, "bad_entry")._value.get() == before + 1
        assert await group_backlog(client, FINALS_STREAM, PERSIST_GROUP) == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await db.close()
        await client.aclose()
