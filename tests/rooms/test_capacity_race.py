"""Two real gateway processes (``babelroom gateway`` on loopback) race for the last speaking-stream
slot, round after round: exactly one wins each time, the other gets 503 with a Retry-After."""

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from tests.conftest import register_instances

from babelroom.dev.devstack import free_port

ROUNDS = 5


@pytest.fixture
def two_gateways(db_settings, redis_url, tmp_path):
    procs, urls = [], []
    for i in range(2):
        port = free_port()
        env = {**os.environ, "BABELROOM_REDIS_URL": redis_url, "BABELROOM_DATABASE_URL": db_settings.database_url,
               "BABELROOM_STATE_DIR": str(tmp_path), "BABELROOM_INSTANCE_ID": f"gw{i}",
               "BABELROOM_LOG_LEVEL": "WARNING"}
        log = (tmp_path / f"gateway{i}.log").open("wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "babelroom.cli", "gateway", "--host", "127.0.0.1",
                                       "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for url, proc in zip(urls, procs, strict=True):
        while True:
            assert proc.poll() is None, (tmp_path / "gateway0.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gateway not ready"
            time.sleep(0.2)
    yield urls
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


def register(client: httpx.Client, n: int) -> dict:
    r = client.post("/api/auth/register", json={"email": f"racer{n}@test.babelroom.local", "password": "password-123",
                                                "display_name": f"Racer {n}"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_exactly_one_gateway_gets_the_last_slot(two_gateways, redis_url):
    register_instances(redis_url, slots=2, stt="stt-race", mt="mt-race")
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_gateways]
    holder = register(clients[0], 0)
    assert clients[0].post("/api/rooms", json={"name": "holds one slot"}, headers=holder).status_code == 201

    def race(i: int, barrier: threading.Barrier, results: list, name: str, headers: dict) -> None:
        clients[i].get("/healthz")  # connection open before the start
        barrier.wait()
        results[i] = clients[i].post("/api/rooms", json={"name": name}, headers=headers)

    for round_ in range(ROUNDS):
        racers = [register(clients[i], 2 * round_ + 1 + i) for i in range(2)]
        barrier, results = threading.Barrier(2), [None, None]
        threads = [threading.Thread(target=race, args=(i, barrier, results, f"race {round_}", racers[i]))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 503], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 201)
        loser = next(r for r in results if r.status_code == 503)
        body = loser.json()
        assert body["error"] == "no_capacity" and body["pool"] in ("stt", "mt")
        assert int(loser.headers["Retry-After"]) == body["retry_after_s"] and 1 <= body["retry_after_s"] <= 60
        # the winner leaves (closing its room frees the slot) for the next round
        i = results.index(winner)
        closed = clients[i].post(f"/api/rooms/{winner.json()['id']}/close", headers=racers[i])
        assert closed.status_code == 200
    for c in clients:
        c.close()
