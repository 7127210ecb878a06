"""Socket limits (issue 8): one Redis reader per room however many caption sockets (D5), socket caps
per user and per room (4429, D5), audio only from speakers (4403) and one stream per participant
(4409, D6), the speaker name from the account (D7), header and audio-rate timeouts (4408, D12)."""

from __future__ import annotations

import contextlib
import time

import pytest
import redis as sync_redis
from prometheus_client import REGISTRY
from starlette.websockets import WebSocketDisconnect

from babelroom.bus.schemas import SegmentAudio
from babelroom.bus.streams import AUDIO_STREAM


def closed(ws) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info:
        while True:
            ws.receive_text()
    return info.value


def sample(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def owner(accounts):
    return accounts.create(name="Ana")


def open_room(gateway, user) -> str:
    return gateway.post("/api/rooms", json={"name": "r"}, headers=user.headers).json()["id"]


def captions_url(room: str, token: str) -> str:
    return f"/ws/rooms/{room}/captions?token={token}&lang=en"


def blocked_xreads(redis_url: str) -> int:
    clients = sync_redis.Redis.from_url(redis_url).client_list()
    return sum(1 for c in clients if c.get("cmd") == "xread")


def test_one_redis_reader_per_room_and_other_rooms_keep_working(gateway, accounts, owner, redis_url):
    room = open_room(gateway, owner)
    with contextlib.ExitStack() as stack:
        for _ in range(6):
            stack.enter_context(gateway.websocket_connect(captions_url(room, owner.token)))
        time.sleep(1.5)
        assert blocked_xreads(redis_url) == 1  # one reader for the room's six sockets
        other = accounts.create()
        second = open_room(gateway, other)
        with gateway.websocket_connect(captions_url(second, other.token)):
            time.sleep(1.5)
            assert blocked_xreads(redis_url) == 2


def test_socket_caps_close_4429(gateway, accounts, owner, db_settings):
    room = open_room(gateway, owner)
    per_user = db_settings.ws_max_sockets_per_user
    before = sample("babelroom_ws_limited_total", {"endpoint": "captions", "limit": "per_user"})
    with contextlib.ExitStack() as stack:
        for _ in range(per_user):
            stack.enter_context(gateway.websocket_connect(captions_url(room, owner.token)))
        with gateway.websocket_connect(captions_url(room, owner.token)) as ws:
            info = closed(ws)
        assert info.code == 4429 and "too many sockets" in info.reason
    assert sample("babelroom_ws_limited_total", {"endpoint": "captions", "limit": "per_user"}) == before + 1
    # closed sockets free their places
    with gateway.websocket_connect(captions_url(room, owner.token)) as ws:
        ws.close()


def test_room_cap_closes_4429(gateway, accounts, owner):
    room = open_room(gateway, owner)
    gateway.app.state.socket_caps.per_room = 2
    guests = [accounts.create() for _ in range(3)]
    for guest in guests:
        gateway.post(f"/api/rooms/{room}/join", json={"listen_only": True}, headers=guest.headers)
    with gateway.websocket_connect(captions_url(room, guests[0].token)), \
            gateway.websocket_connect(captions_url(room, guests[1].token)), \
            gateway.websocket_connect(captions_url(room, guests[2].token)) as third:
        info = closed(third)
    assert info.code == 4429 and "this room has 2" in info.reason


def audio_url(room: str, token: str) -> str:
    return f"/ws/rooms/{room}/audio?token={token}"


HEADER = {"participant": "x", "name": "A (room owner)", "language": "en", "sample_rate": 16000}


def test_listen_only_participants_cannot_stream_audio(gateway, accounts, owner):
    room = open_room(gateway, owner)
    listener = accounts.create()
    assert gateway.post(f"/api/rooms/{room}/join", json={"listen_only": True},
                        headers=listener.headers).status_code == 200
    with gateway.websocket_connect(audio_url(room, listener.token)) as ws:
        info = closed(ws)
    assert info.code == 4403 and info.reason.startswith("listen_only")


def test_one_audio_stream_per_participant(gateway, owner):
    room = open_room(gateway, owner)
    with gateway.websocket_connect(audio_url(room, owner.token)) as first:
        first.send_json(HEADER)
        assert first.receive_json()["type"] == "ready"
        with gateway.websocket_connect(audio_url(room, owner.token)) as second:
            info = closed(second)
        assert info.code == 4409 and info.reason.startswith("duplicate_stream")
        first.send_json({"type": "end"})
        assert closed(first).code == 1000
    with gateway.websocket_connect(audio_url(room, owner.token)) as again:  # the lock went with the socket
        again.send_json(HEADER)
        assert again.receive_json()["type"] == "ready"


def test_the_speaker_name_is_the_accounts(gateway, owner, redis_url):
    import numpy as np

    room = open_room(gateway, owner)
    t = np.arange(16000 * 3) / 16000
    speech = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) * 32767 / 2).astype("<i2")
    with gateway.websocket_connect(audio_url(room, owner.token)) as ws:
        ws.send_json(HEADER)
        assert ws.receive_json()["type"] == "ready"
        for i in range(0, len(speech), 1600):
            ws.send_bytes(speech[i:i + 1600].tobytes())
        ws.send_json({"type": "end"})
        closed(ws)
    entries = sync_redis.Redis.from_url(redis_url).xrange(AUDIO_STREAM)
    names = {SegmentAudio.from_fields(fields).speaker_name for _, fields in entries}
    assert names == {"Ana"}


@pytest.fixture
def quick(gateway, db_settings):
    """The gateway with short audio timeouts (header 1 s, idle 1 s, rate window 2 s)."""
    gateway.app.state.settings = db_settings.model_copy(update={
        "ingest_header_timeout_s": 1.0, "ingest_idle_timeout_s": 1.0, "ingest_rate_window_s": 2.0})
    return gateway


def test_no_header_closes_4408(quick, owner):
    room = open_room(quick, owner)
    before = sample("babelroom_ingest_rejected_total", {"reason": "header_timeout"})
    with quick.websocket_connect(audio_url(room, owner.token)) as ws:
        info = closed(ws)
    assert info.code == 4408 and info.reason.startswith("header_timeout")
    assert sample("babelroom_ingest_rejected_total", {"reason": "header_timeout"}) == before + 1


def test_an_idle_audio_socket_closes_4408_and_frees_its_stream(quick, owner):
    room = open_room(quick, owner)
    with quick.websocket_connect(audio_url(room, owner.token)) as ws:
        ws.send_json(HEADER)
        assert ws.receive_json()["type"] == "ready"
        info = closed(ws)
    assert info.code == 4408 and info.reason.startswith("idle")
    with quick.websocket_connect(audio_url(room, owner.token)) as again:
        again.send_json(HEADER)
        assert again.receive_json()["type"] == "ready"


def test_a_trickle_of_audio_closes_4408(quick, owner):
    room = open_room(quick, owner)
    before = sample("babelroom_ingest_rejected_total", {"reason": "too_slow"})
    with quick.websocket_connect(audio_url(room, owner.token)) as ws:
        ws.send_json(HEADER)
        assert ws.receive_json()["type"] == "ready"
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(20):  # 40 ms of audio every 0.5 s: 8 % of real time
                ws.send_bytes(b"\x00\x00" * 640)
                time.sleep(0.5)
            ws.receive_text()
    assert info.value.code == 4408 and info.value.reason.startswith("too slow")
    assert sample("babelroom_ingest_rejected_total", {"reason": "too_slow"}) == before + 1
