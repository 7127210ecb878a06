"""A real MT worker process (Apertium) started before Redis, then through a Redis restart that loses
every key: it consumes again by itself, re-registers its capacity, and its health checks tell the
truth meanwhile. A worker whose consume loop dies exits with 70 (EX_SOFTWARE)."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from babelroom.bus.schemas import Transcript
from babelroom.bus.streams import TRANSCRIPT_STREAM, captions_stream
from babelroom.dev.devstack import free_port
from babelroom.runner import EX_SOFTWARE

HEADER = dict(room="r", speaker="a", speaker_name="A", language="en", audio_start_ms=0, audio_end_ms=900)


def wait_for(predicate: Callable[[], object], timeout_s: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Worker:
    def __init__(self, redis_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {**os.environ, "BABELROOM_REDIS_URL": redis_url, "BABELROOM_MT_METRICS_PORT": str(self.port),
               "BABELROOM_MT_BACKENDS": "apertium", "BABELROOM_INSTANCE_ID": "mt-test",
               "BABELROOM_CAPACITY_HEARTBEAT_S": "0.2", "BABELROOM_LOG_JSON": "false"}
        with log_path.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "mt"], env=env, stdout=out,
                                            stderr=subprocess.STDOUT)

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2)
        except httpx.HTTPError:
            return None

    def status(self, path: str) -> int | None:
        response = self.get(path)
        return response.status_code if response is not None else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(redis_url: str) -> Worker:
        started.append(Worker(redis_url, tmp_path / f"mt-{len(started)}.log"))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def captions_of(client: redis.Redis, segment_id: str) -> list:
    return [f for _, f in client.xrange(captions_stream("r")) if segment_id.encode() in f[b"m"]]


def publish_until_captioned(client: redis.Redis, segment_id: str, seq: int) -> None:
    """Publish a final (retrying while the client meets a dead connection) and wait for its caption."""
    msg = Transcript(**HEADER, seq=seq, segment_id=segment_id, kind="final", text="Hello.")
    wait_for(lambda: _try_xadd(client, msg), 10, "publishing")
    wait_for(lambda: captions_of(client, segment_id), 20, f"the caption of {segment_id}")


def _try_xadd(client: redis.Redis, msg: Transcript) -> bool:
    try:
        client.xadd(TRANSCRIPT_STREAM, msg.to_fields())
        return True
    except redis.ConnectionError:
        return False


def registered(client: redis.Redis) -> bool:
    try:
        return client.zscore("cap:mt:alive", "mt-test") is not None
    except redis.ConnectionError:
        return False


def test_a_worker_started_before_redis_and_through_a_restart_keeps_consuming(own_redis, worker_factory):
    worker = worker_factory(own_redis.url)
    wait_for(lambda: worker.status("/healthz") == 200, 60, "the ops server")
    wait_for(lambda: worker.get("/readyz") is not None and worker.get("/readyz").json()["checks"]["model"], 60,
             "the model")
    body = worker.get("/readyz").json()
    assert body["ready"] is False and body["checks"]["consuming"] is False and body["checks"]["redis"] is False
    assert worker.status("/healthz") == 200 and worker.process.poll() is None  # alive: it retries

    own_redis.start()
    client = redis.Redis.from_url(own_redis.url)
    wait_for(lambda: worker.status("/readyz") == 200, 20, "readiness once Redis is up")
    wait_for(lambda: registered(client), 5, "the capacity registration")
    publish_until_captioned(client, "s1", 1)

    own_redis.restart()  # every key is gone: stream, group, registration
    publish_until_captioned(client, "s2", 2)
    wait_for(lambda: registered(client), 5, "the registration written again")
    wait_for(lambda: worker.status("/readyz") == 200, 10, "readiness after the restart")
    metrics_text = worker.get("/metrics").text
    line = next(x for x in metrics_text.splitlines()
                if x.startswith(f'babelroom_bus_reconnects_total{{stream="{TRANSCRIPT_STREAM}"}}'))
    assert float(line.split()[-1]) >= 2
    assert worker.process.poll() is None

    worker.process.terminate()  # SIGTERM, as Swarm stops a task: a clean stop that deregisters
    assert worker.process.wait(20) == 0
    assert not registered(client) and "worker.stopped" in worker.log_path.read_text()


def test_a_worker_whose_consume_loop_dies_exits_70(own_redis, worker_factory):
    own_redis.start()
    redis.Redis.from_url(own_redis.url).set(TRANSCRIPT_STREAM, "not a stream")  # WRONGTYPE: not retried
    worker = worker_factory(own_redis.url)
    assert worker.process.wait(60) == EX_SOFTWARE
    assert "worker.consume_loop_died" in worker.log_path.read_text()


def test_handled_transcripts_leave_the_stream(own_redis, worker_factory):
    """Only the mt group reads ``transcripts``: what MT handled is XDELed with its ack, so the partials
    of a long call do not pile up in Redis until MAXLEN trims them (the soak's Redis growth)."""
    own_redis.start()
    worker = worker_factory(own_redis.url)
    client = redis.Redis.from_url(own_redis.url)
    wait_for(lambda: worker.status("/readyz") == 200, 60, "readiness")
    for seq in range(1, 4):
        publish_until_captioned(client, f"s{seq}", seq)
    wait_for(lambda: client.xlen(TRANSCRIPT_STREAM) == 0, 5, "the handled transcripts to go")
    group = next(g for g in client.xinfo_groups(TRANSCRIPT_STREAM) if g["name"] == b"mt")
    assert group["pending"] == 0 and group["lag"] == 0  # the lag the publisher sheds partials by still reads
