"""Audio mode of the caption WebSocket (``audio=1``): spoken translations in the listener's language as a
JSON header then the Ogg Opus bytes, audio-listener registration, stale speech dropped, bad queries."""

import asyncio
import time

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from starlette.websockets import WebSocketDisconnect
from tests.gateway.test_captions import HEADER, add, caption, url

from babelroom.bus.schemas import SpeechAudio, Translation, now_ms
from babelroom.bus.streams import tts_stream
from babelroom.captions import listeners


@pytest.fixture
def room(gateway, accounts):
    """A room and its owner's access token."""
    owner = accounts.create()
    return gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"], owner.token


@pytest.fixture
def client(gateway):
    return gateway


def speech(room, seq, lang, *, age_s=0.0, audio=b"OggS fake opus"):
    t_final = now_ms() - age_s * 1000 - 100
    return SpeechAudio(
        **HEADER, room=room[0], segment_id=f"s{seq}", seq=seq, room_seq=seq,
        translation=Translation(language=lang, text=f"{lang} {seq}", backend="test"),
        duration_ms=900, tts_backend="espeak", voice=lang, audio=audio + bytes([seq]),
        timings={"segment_end": t_final - 500, "mt_end": t_final, "tts_end": t_final + 100},
    )


def publish(redis_url, s: SpeechAudio):
    sync_redis.Redis.from_url(redis_url).xadd(tts_stream(s.room), s.to_fields())


def receive_speech(ws) -> tuple[dict, bytes]:
    header = ws.receive_json()
    assert header["type"] == "speech", header
    return header, ws.receive_bytes()


def test_audio_listener_gets_its_languages_speech_in_order_header_then_opus(client, room, redis_url):
    with client.websocket_connect(url(room, "&lang=es&audio=1")) as ws:
        sent = [speech(room, 1, "es"), speech(room, 1, "en"), speech(room, 2, "es"), speech(room, 3, "es")]
        for s in sent:
            publish(redis_url, s)
        got = [receive_speech(ws) for _ in range(3)]
        assert [(h["segment_id"], h["translation"]["text"]) for h, _ in got] == [
            ("s1", "es 1"), ("s2", "es 2"), ("s3", "es 3")]
        for (header, body), s in zip(got, [sent[0], sent[2], sent[3]], strict=True):
            assert body == s.audio and header["audio_bytes"] == len(s.audio)
            assert header["codec"] == "opus" and header["sample_rate"] == 48_000 and header["tts_backend"] == "espeak"
            assert header["timings"]["sent"] >= header["timings"]["tts_end"]
        add(redis_url, caption(room, 4, "es"))  # captions keep coming on the same socket
        assert ws.receive_json()["type"] == "final"


def test_listener_without_audio_gets_no_speech(client, room, redis_url):
    with client.websocket_connect(url(room, "&lang=es")) as plain, \
            client.websocket_connect(url(room, "&lang=es&audio=1")) as audio:
        publish(redis_url, speech(room, 1, "es"))
        assert receive_speech(audio)[0]["segment_id"] == "s1"
        add(redis_url, caption(room, 2, "es"))
        assert plain.receive_json()["type"] == "final"  # the speech published before it never came
        assert audio.receive_json()["type"] == "final"


def test_stale_speech_is_dropped_and_counted(client, room, redis_url):
    from babelroom import metrics

    before = metrics.SPEECH_DROPPED.labels("stale")._value.get()
    with client.websocket_connect(url(room, "&lang=es&audio=1")) as ws:
        publish(redis_url, speech(room, 1, "es", age_s=11.0))  # ws_speech_max_age_s is 10 s
        publish(redis_url, speech(room, 2, "es", age_s=1.0))
        assert receive_speech(ws)[0]["segment_id"] == "s2"
    assert metrics.SPEECH_DROPPED.labels("stale")._value.get() == before + 1


def test_audio_listener_is_registered_while_connected(client, room, redis_url):
    async def langs(mode):
        r = aioredis.from_url(redis_url)
        try:
            return await listeners.languages(r, room[0], mode=mode)
        finally:
            await r.aclose()

    with client.websocket_connect(url(room, "&lang=es&audio=1")), client.websocket_connect(url(room, "&lang=de")):
        assert asyncio.run(langs("audio")) == {"es"}
        assert asyncio.run(langs("captions")) == {"es", "de"}
    deadline = time.monotonic() + 5  # the server unregisters right after the close handshake
    while asyncio.run(langs(None)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert asyncio.run(langs("audio")) == set() and asyncio.run(langs("captions")) == set()


def test_audio_registration_is_refreshed_after_redis_loses_it(client, room, redis_url):
    with client.websocket_connect(url(room, "&lang=es&audio=1")):
        r = sync_redis.Redis.from_url(redis_url)
        r.flushall()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and not r.zcard(f"room:{room[0]}:audio_listeners"):
            time.sleep(0.1)
        assert r.zrange(f"room:{room[0]}:audio_listeners", 0, -1)[0].startswith(b"es|")


@pytest.mark.parametrize("query", ["&lang=es&audio=yes", "&lang=es&audio=2", "&lang=es&audio=" + "1" * 5000,
                                   "&lang=" + "e" * 5000 + "&audio=1"])
def test_bad_or_oversize_audio_query_closes_4400(client, room, query):
    with client.websocket_connect(url(room, query)) as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert info.value.code == 4400 and info.value.reason.startswith("bad query")
