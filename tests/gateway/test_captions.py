"""The caption WebSocket: language filtering, live delivery, replay with since=, bad queries.
(Authentication and admission: test_socket_auth.py.)"""

import asyncio
import json
import time

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from starlette.websockets import WebSocketDisconnect

from babelroom.bus.schemas import Caption, Notice, SpeakerLabel, Translation
from babelroom.bus.streams import captions_stream, notices_stream, partial_captions_stream
from babelroom.captions import listeners

HEADER = dict(speaker="alice", speaker_name="Alice", language="en", audio_start_ms=0, audio_end_ms=900)


@pytest.fixture
def room(gateway, accounts):
    """A room and its owner's caption-socket path prefix (the token is in the query)."""
    owner = accounts.create()
    room_id = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    return room_id, owner.token


@pytest.fixture
def client(gateway):
    return gateway


def caption(room, seq, lang, kind="final", text="hello"):
    return Caption(
        **HEADER, room=room[0], segment_id=f"s{seq}", seq=seq, type=kind, room_seq=seq if kind == "final" else 0,
        text=text, translation=Translation(language=lang, text=f"{lang}:{text}", backend="test"),
        timings={"segment_end": 1.0, "stt_end": 2.0},
    )


def url(room, query):
    return f"/ws/rooms/{room[0]}/captions?token={room[1]}{query}"


def add(redis_url, c: Caption):
    """XADD ``c`` where MT puts it: finals in the room's stream, partials and retractions in its side stream."""
    stream = captions_stream(c.room) if c.type == "final" else partial_captions_stream(c.room)
    sync_redis.Redis.from_url(redis_url).xadd(stream, c.to_fields())


def test_since_replays_missed_finals_in_my_language_then_goes_live(client, room, redis_url):
    for seq in (1, 2, 3):
        add(redis_url, caption(room, seq, "es"))
        add(redis_url, caption(room, seq, "en"))
    add(redis_url, caption(room, 4, "es", kind="partial"))
    with client.websocket_connect(url(room, "&lang=es&since=1")) as ws:
        replayed = [Caption.model_validate_json(ws.receive_text()) for _ in range(2)]
        assert [(c.room_seq, c.translation.text) for c in replayed] == [(2, "es:hello"), (3, "es:hello")]
        assert all(c.stages_ms["total"] > 0 and "sent" in c.timings for c in replayed)
        add(redis_url, caption(room, 5, "en"))
        add(redis_url, caption(room, 5, "es", kind="partial", text="live"))
        live = Caption.model_validate_json(ws.receive_text())
        assert (live.type, live.translation.text) == ("partial", "es:live")


def test_partials_from_the_side_stream_and_finals_arrive_in_publishing_order(client, room, redis_url):
    """Partials and retractions live in ``captions:{room}:partial``, finals in ``captions:{room}``: the
    listener still gets them interleaved as they were published (entries of one millisecond:
    test_room_feed.py), and ``since=`` replays finals only."""
    published = [caption(room, 1, "es", "partial", "he"), caption(room, 1, "es", "partial", "hello"),
                 caption(room, 1, "es"), caption(room, 2, "es", "partial", "um"), caption(room, 2, "es", "retract", ""),
                 caption(room, 3, "es", "partial", "bye"), caption(room, 3, "es", text="bye"),
                 caption(room, 4, "es", "partial", "again")]
    with client.websocket_connect(url(room, "&lang=es")) as ws:
        for c in published:
            add(redis_url, c)
            time.sleep(0.002)
        got = [Caption.model_validate_json(ws.receive_text()) for _ in published]
    assert [(c.type, c.seq, c.text) for c in got] == [(c.type, c.seq, c.text) for c in published]
    with client.websocket_connect(url(room, "&lang=es&since=0")) as ws:
        replayed = [Caption.model_validate_json(ws.receive_text()) for _ in range(2)]
        add(redis_url, caption(room, 5, "es", "partial", "live"))
        live = Caption.model_validate_json(ws.receive_text())
    assert [(c.type, c.room_seq) for c in replayed] == [("final", 1), ("final", 3)]
    assert (live.type, live.text) == ("partial", "live")


def test_listener_language_is_registered_while_connected(client, room, redis_url):
    async def langs():
        r = aioredis.from_url(redis_url)
        try:
            return await listeners.languages(r, room[0])
        finally:
            await r.aclose()

    with client.websocket_connect(url(room, "&lang=de")), client.websocket_connect(url(room, "&lang=fr")):
        assert asyncio.run(langs()) == {"de", "fr"}
    deadline = time.monotonic() + 5  # the server unregisters right after the close handshake
    while asyncio.run(langs()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert asyncio.run(langs()) == set()


@pytest.mark.parametrize("query", ["", "&lang=spanish", "&lang=es&since=-1", "&lang=es&since=abc"])
def test_bad_query_closes_4400(client, room, query):
    with client.websocket_connect(url(room, query)) as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert info.value.code == 4400 and info.value.reason.startswith("bad query")


def test_listeners_are_registered_again_soon_after_redis_loses_its_data(client, room, redis_url):
    """MT translates only into the languages of registered listeners: after a FLUSHALL the socket's
    language must come back within a few seconds, or the finals in between reach nobody."""
    with client.websocket_connect(url(room, "&lang=es")):
        r = sync_redis.Redis.from_url(redis_url)
        r.flushall()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and not r.zcard(f"room:{room[0]}:listeners"):
            time.sleep(0.1)
        assert r.zrange(f"room:{room[0]}:listeners", 0, -1)[0].startswith(b"es|")


def test_since_replays_the_speaker_labels_of_the_replayed_finals(client, room, redis_url):
    """Diarization's labels come as speakers_updated notices, which a socket gets live only: a listener
    who joins late (or reconnects) gets, after the replayed finals, the labels of those finals."""
    for seq in (1, 2, 3):
        add(redis_url, caption(room, seq, "en"))
    notices = sync_redis.Redis.from_url(redis_url)
    labelled = Notice(room=room[0], code="speakers_updated", user="alice", message="2 speaker(s)", speakers=[
        SpeakerLabel(seq=seq, segment_id=f"s{seq}", label=label)
        for seq, label in ((1, "Speaker 2"), (2, "Speaker 1"), (3, "Speaker 2"))])
    relabelled = Notice(room=room[0], code="speakers_updated", user="alice", message="2 speaker(s)",
                        speakers=[SpeakerLabel(seq=3, segment_id="s3", label="Speaker 1")])
    expiring = Notice(room=room[0], code="room_expiring", message="closes soon", closes_at_ms=1)
    for notice in (labelled, expiring, relabelled):
        notices.xadd(notices_stream(room[0]), notice.to_fields())
    with client.websocket_connect(url(room, "&lang=en&since=1")) as ws:
        replayed = [Caption.model_validate_json(ws.receive_text()) for _ in range(2)]
        assert [c.segment_id for c in replayed] == ["s2", "s3"]
        add(redis_url, caption(room, 4, "en", kind="partial", text="live"))
        frames = []
        for expected in ("notice", "notice", "partial"):  # the labels, then live
            frames.append(json.loads(ws.receive_text()))
            assert frames[-1]["type"] == expected, frames
        labels = [Notice.model_validate(f) for f in frames[:2]]
        assert [(n.code, n.user) for n in labels] == [("speakers_updated", "alice")] * 2
        assert [[(s.segment_id, s.label) for s in n.speakers or []] for n in labels] == [
            [("s2", "Speaker 1"), ("s3", "Speaker 2")], [("s3", "Speaker 1")]]  # only the replayed finals', in order
