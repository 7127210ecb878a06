"""Caption sockets across a Redis restart (issue 8): the socket stays open, live captions flow again
once Redis is back, and a client whose history is gone gets a ``history_lost`` notice (live, and when
it reconnects with a ``since=`` the stream can no longer replay)."""

from __future__ import annotations

import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from tests.conftest import Accounts, register_instances

from babelroom.bus.schemas import Caption, Translation
from babelroom.bus.streams import captions_stream
from babelroom.gateway.app import create_app


@pytest.fixture
def client(fragile_settings):
    with TestClient(create_app(fragile_settings.model_copy(update={"ws_redis_outage_grace_s": 20.0}))) as c:
        yield c


def caption(room: str, seq: int, text: str = "hello") -> Caption:
    return Caption(speaker="a", speaker_name="A", language="en", room=room, segment_id=f"s{seq}", seq=seq,
                   type="final", room_seq=seq, audio_start_ms=0, audio_end_ms=900, text=text,
                   translation=Translation(language="es", text=f"es:{text}", backend="test"),
                   timings={"segment_end": 1.0})


def add(url: str, c: Caption) -> None:
    sync_redis.Redis.from_url(url).xadd(captions_stream(c.room), c.to_fields())


def test_a_caption_socket_survives_a_restart_and_is_told_what_was_lost(client, database_url, private_redis):
    owner = Accounts(client, database_url).create()
    room = client.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    with client.websocket_connect(f"/ws/rooms/{room}/captions?token={owner.token}&lang=es") as ws:
        add(private_redis.url, caption(room, 1))
        assert Caption.model_validate_json(ws.receive_text()).room_seq == 1
        add(private_redis.url, caption(room, 2))  # the feed may or may not read it before the crash
        private_redis.restart()  # no persistence: the stream and the room_seq counter are gone
        register_instances(private_redis.url)
        add(private_redis.url, caption(room, 1, "after"))
        messages = [ws.receive_json()]
        while messages[-1].get("text") != "after":
            messages.append(ws.receive_json())
        notices = [m for m in messages if m["type"] == "notice"]
        assert notices and notices[0]["code"] == "history_lost" and "lost" in notices[0]["message"]


@pytest.mark.parametrize(("since", "stored", "cause"), [(5, [1, 2], "store_reset"), (5, [], "stream_gone"),
                                                        (2, [7, 8], "trimmed")])
def test_a_since_that_cannot_be_replayed_gets_history_lost(client, database_url, private_redis, since, stored,
                                                           cause):
    owner = Accounts(client, database_url).create()
    room = client.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    for seq in stored:
        add(private_redis.url, caption(room, seq))
    with client.websocket_connect(f"/ws/rooms/{room}/captions?token={owner.token}&lang=es&since={since}") as ws:
        notice = ws.receive_json()
        assert (notice["type"], notice["code"], notice["reason"]) == ("notice", "history_lost", cause)
        assert f"after room_seq {since}" in notice["message"]
        assert [ws.receive_json()["room_seq"] for _ in stored] == stored  # what is held, from the start


def test_a_replayable_since_gets_no_notice(client, database_url, private_redis):
    owner = Accounts(client, database_url).create()
    room = client.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    for seq in (1, 2, 3):
        add(private_redis.url, caption(room, seq))
    with client.websocket_connect(f"/ws/rooms/{room}/captions?token={owner.token}&lang=es&since=1") as ws:
        assert [ws.receive_json()["room_seq"] for _ in range(2)] == [2, 3]
