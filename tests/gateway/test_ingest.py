"""The audio WebSocket against a real Redis: protocol errors close with a code and a reason, are
counted, and never lose speech that was already accepted."""

import json
from pathlib import Path

import numpy as np
import pytest
import redis as sync_redis
from starlette.websockets import WebSocketDisconnect

from babelroom import metrics
from babelroom.audio.pcm import decode_file, float_to_s16le
from babelroom.bus.schemas import SegmentAudio
from babelroom.bus.streams import AUDIO_STREAM

DATA = Path(__file__).resolve().parents[1] / "data"

HEADER = {"participant": "alice", "name": "Alice", "language": "en", "sample_rate": 16000, "channels": 1,
          "format": "s16le"}


@pytest.fixture
def client(gateway):
    return gateway


@pytest.fixture
def audio_url(gateway, accounts):
    """The audio socket of a new room, with its owner's token."""
    owner = accounts.create(name="Alice")
    room_id = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    return f"/ws/rooms/{room_id}/audio?token={owner.token}", owner


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """(n,) float32 16 kHz: real speech followed by 1 s of silence."""
    return np.concatenate([decode_file(DATA / "speech" / "LJ001-0002.wav"), np.zeros(16000, np.float32)])


def rejected(reason):
    return metrics.INGEST_REJECTED.labels(reason)._value.get()


def finals(redis_url):
    entries = sync_redis.Redis.from_url(redis_url).xrange(AUDIO_STREAM)
    msgs = [SegmentAudio.from_fields(f) for _, f in entries]
    return [m for m in msgs if m.kind == "final"]


def close_of(ws) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info:
        while True:
            ws.receive_text()
    return info.value


def test_clean_stream_is_segmented_and_published(client, audio_url, speech, redis_url):
    with client.websocket_connect(audio_url[0]) as ws:
        ws.send_text(json.dumps(HEADER))
        assert json.loads(ws.receive_text()) == {"type": "ready"}
        for i in range(0, len(speech), 640):
            ws.send_bytes(float_to_s16le(speech[i : i + 640]))
        ws.send_text(json.dumps({"type": "end"}))
        notices = []
        closed = None
        try:
            while True:
                notices.append(json.loads(ws.receive_text()))
        except WebSocketDisconnect as exc:
            closed = exc
    assert closed.code == 1000
    assert [n["status"] for n in notices] == ["accepted"]
    (final,) = finals(redis_url)
    # the speaker is the token's user, not the header's participant
    assert final.segment_id == notices[0]["segment_id"] and final.seq == 1 and final.speaker == audio_url[1].id
    assert 1000 < final.audio_end_ms - final.audio_start_ms < 3000  # the clip is 1.9 s of speech
    assert len(final.pcm) > 2 * 16000


@pytest.mark.parametrize(
    "first, reason",
    [
        ("not json", "bad_header"),
        (json.dumps({**HEADER, "sample_rate": 96000}), "bad_header"),
        (json.dumps({**HEADER, "format": "f32le"}), "bad_header"),
        (json.dumps({k: v for k, v in HEADER.items() if k != "language"}), "bad_header"),
        (b"\x00\x01", "no_header"),
    ],
)
def test_bad_header_closes_4400_with_reason(client, audio_url, first, reason):
    before = rejected(reason)
    with client.websocket_connect(audio_url[0]) as ws:
        ws.send_bytes(first) if isinstance(first, bytes) else ws.send_text(first)
        closed = close_of(ws)
    assert closed.code == 4400 and closed.reason
    assert rejected(reason) == before + 1


@pytest.mark.parametrize(
    "frame, code, reason",
    [
        (b"\x00\x01\x02", 4400, "frame_misaligned"),
        (b"", 4400, "frame_empty"),
        (b"\x00\x00" * 200_000, 1009, "frame_too_large"),
        ("hello", 1003, "unexpected_text"),
    ],
)
def test_bad_frame_closes_and_keeps_accepted_speech(client, audio_url, speech, redis_url, frame, code, reason):
    before = rejected(reason)
    with client.websocket_connect(audio_url[0]) as ws:
        ws.send_text(json.dumps(HEADER))
        ws.receive_text()
        for i in range(0, len(speech), 1600):
            ws.send_bytes(float_to_s16le(speech[i : i + 1600]))
        ws.send_text(frame) if isinstance(frame, str) else ws.send_bytes(frame)
        closed = close_of(ws)
    assert closed.code == code and reason in closed.reason
    assert rejected(reason) == before + 1
    assert len(finals(redis_url)) == 1  # the speech sent before the bad frame is still transcribed


def test_a_lost_seq_counter_never_reuses_a_stored_seq(client, audio_url, speech, redis_url, database_url):
    """Redis lost the speaker's counter (a restart without its data): the next final is numbered above
    the transcript's highest seq, so persist does not drop it as a replay of a stored row."""
    from tests.conftest import run_sql

    def stream_once():
        with client.websocket_connect(audio_url[0]) as ws:
            ws.send_text(json.dumps(HEADER))
            assert json.loads(ws.receive_text()) == {"type": "ready"}
            for i in range(0, len(speech), 640):
                ws.send_bytes(float_to_s16le(speech[i : i + 640]))
            ws.send_text(json.dumps({"type": "end"}))
            close_of(ws)

    stream_once()
    (first,) = finals(redis_url)
    run_sql(database_url, "INSERT INTO transcript_segments (room_id, speaker, speaker_name, seq, room_seq, "
            "segment_id, audio_start_ms, audio_end_ms, language, text, translations, spoken_at) "
            "VALUES (CAST(:room AS uuid), :speaker, 'Alice', 7, 7, 'stored', 0, 1000, 'en', 'stored', '{}', now())",
            params={"room": first.room, "speaker": first.speaker})
    r = sync_redis.Redis.from_url(redis_url)
    assert r.delete(f"room:{first.room}:speaker:{first.speaker}:seq") == 1
    stream_once()
    assert [f.seq for f in finals(redis_url)] == [1, 8]
