"""Transcript history: finals from the ``finals`` stream written once by the gateway's persist
consumer (replays included), then paged, exported per language and searched through the API."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as sync_redis

from babelroom import metrics
from babelroom.bus.schemas import FinalRecord, Translation
from babelroom.bus.streams import FINALS_STREAM, PERSIST_GROUP

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
LINES = [  # speaker, english, spanish, seconds after T0
    ("ana", "Good morning everyone.", "Buenos días a todos.", 10),
    ("ben", "The budget is ready.", "El presupuesto está listo.", 20),
    ("ana", "Thank you for the report.", "Gracias por el informe.", 30),
    ("ben", "The second budget comes tomorrow.", "El segundo presupuesto llega mañana.", 40),
    ("ana", "Goodbye.", "Adiós.", 50),
]


def record(room_id: str, users: dict, n: int, line=None) -> FinalRecord:
    who, en, es, at = line or LINES[n]
    seq = sum(1 for w, *_ in LINES[: n + 1] if w == who)
    translations = {"en": Translation(language="en", text=en, backend="source")}
    if es:
        translations["es"] = Translation(language="es", text=es, backend="apertium")
    return FinalRecord(
        room=room_id, speaker=users[who].id, speaker_name=who.title(), language="en", segment_id=f"seg{n}", seq=seq,
        audio_start_ms=at * 1000 - 1500, audio_end_ms=at * 1000, room_seq=n + 1, text=en,
        translations=translations, avg_logprob=-0.1,
        timings={"segment_end": (T0 + timedelta(seconds=at)).timestamp() * 1000},
    )


def publish(redis_url: str, records: list[FinalRecord]) -> None:
    client = sync_redis.Redis.from_url(redis_url)
    for r in records:
        client.xadd(FINALS_STREAM, r.to_fields())


def caught_up(redis_url: str) -> None:
    """Wait until the persist group has read and acknowledged every entry of ``finals``."""
    client = sync_redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        groups = ({g["name"].decode(): g for g in client.xinfo_groups(FINALS_STREAM)}
                  if client.exists(FINALS_STREAM) else {})
        g = groups.get(PERSIST_GROUP)
        if g and not g["pending"] and not g["lag"]:
            return
        time.sleep(0.05)
    raise AssertionError("the persist consumer did not catch up")


@pytest.fixture
def meeting(gateway, accounts, redis_url):
    """A room with Ana (owner) and Ben, and the five finals of LINES persisted."""
    users = {"ana": accounts.create(name="Ana"), "ben": accounts.create(name="Ben")}
    room_id = gateway.post("/api/rooms", json={"name": "Budget"}, headers=users["ana"].headers).json()["id"]
    gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=users["ben"].headers)
    publish(redis_url, [record(room_id, users, n) for n in range(len(LINES))])
    caught_up(redis_url)
    return room_id, users


def test_finals_are_written_once_even_when_replayed(meeting, gateway, redis_url):
    room_id, users = meeting
    items = gateway.get(f"/api/rooms/{room_id}/transcript", headers=users["ana"].headers).json()["items"]
    assert [(i["room_seq"], i["speaker_name"], i["seq"]) for i in items] == [
        (1, "Ana", 1), (2, "Ben", 1), (3, "Ana", 2), (4, "Ben", 2), (5, "Ana", 3)]
    assert items[1]["translations"] == {"en": "The budget is ready.", "es": "El presupuesto está listo."}
    assert items[0]["confidence"] == pytest.approx(0.905, abs=1e-3)
    assert datetime.fromisoformat(items[0]["spoken_at"]) == T0 + timedelta(seconds=10)
    before = metrics.TRANSCRIPT_SEGMENTS_PERSISTED._value.get()
    # a replay: the same finals published again, and the whole stream delivered to the group again
    publish(redis_url, [record(room_id, users, n) for n in range(len(LINES))])
    sync_redis.Redis.from_url(redis_url).xgroup_setid(FINALS_STREAM, PERSIST_GROUP, "0")
    publish(redis_url, [record("00000000-0000-0000-0000-000000000000", users, 0)])  # a room the API never made
    caught_up(redis_url)
    again = gateway.get(f"/api/rooms/{room_id}/transcript", headers=users["ana"].headers).json()["items"]
    assert [i["id"] for i in again] == [i["id"] for i in items]
    assert metrics.TRANSCRIPT_SEGMENTS_PERSISTED._value.get() == before


def test_pages_and_time_ranges(meeting, gateway):
    room_id, users = meeting
    path, h = f"/api/rooms/{room_id}/transcript", users["ben"].headers
    first = gateway.get(path, params={"limit": 2}, headers=h).json()
    assert [i["room_seq"] for i in first["items"]] == [1, 2] and first["next_after_seq"] == 2
    second = gateway.get(path, params={"limit": 2, "after_seq": 2}, headers=h).json()
    last = gateway.get(path, params={"limit": 2, "after_seq": 4}, headers=h).json()
    assert [i["room_seq"] for i in second["items"] + last["items"]] == [3, 4, 5] and last["next_after_seq"] is None
    window = {"start": (T0 + timedelta(seconds=15)).isoformat(), "end": (T0 + timedelta(seconds=35)).isoformat()}
    assert [i["room_seq"] for i in gateway.get(path, params=window, headers=h).json()["items"]] == [2, 3]


def test_only_participants_and_admins_read_a_transcript(meeting, gateway, accounts):
    room_id, _ = meeting
    stranger, admin = accounts.create(), accounts.create(role="admin")
    refused = gateway.get(f"/api/rooms/{room_id}/transcript", headers=stranger.headers)
    assert refused.status_code == 403 and refused.json()["error"] == "not_admitted"
    assert gateway.get("/api/transcripts/search", params={"q": "budget"}, headers=stranger.headers).json()["total"] == 0
    assert len(gateway.get(f"/api/rooms/{room_id}/transcript", headers=admin.headers).json()["items"]) == 5
    assert gateway.get("/api/transcripts/search", params={"q": "budget"}, headers=admin.headers).json()["total"] == 2


def test_exports_per_language(meeting, gateway, redis_url):
    room_id, users = meeting
    h, path = users["ana"].headers, f"/api/rooms/{room_id}/transcript/export"
    srt = gateway.get(path, params={"format": "srt", "lang": "es"}, headers=h)
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert 'filename="transcript-' in srt.headers["content-disposition"]
    assert srt.text.startswith("1\n") and "Ben: El presupuesto está listo." in srt.text
    vtt = gateway.get(path, params={"format": "vtt"}, headers=h).text
    assert vtt.startswith("WEBVTT") and "Ana: Good morning everyone." in vtt
    txt = gateway.get(path, params={"format": "txt", "lang": "en"}, headers=h).text.splitlines()
    assert len(txt) == 5 and txt[1].endswith("Ben: The budget is ready.")
    cues = gateway.get(path, params={"format": "json", "lang": "es"}, headers=h).json()
    assert [c["text"] for c in cues][:2] == ["Buenos días a todos.", "El presupuesto está listo."]
    # cue times run from the room's opening: later finals start later
    assert [c["start_ms"] for c in cues] == sorted(c["start_ms"] for c in cues)
    assert gateway.get(path, params={"format": "srt", "lang": "de"}, headers=h).text == ""  # never translated to German
    bad = gateway.get(path, params={"format": "srt", "lang": "german"}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    assert gateway.get(path, params={"format": "docx"}, headers=h).status_code == 422


def test_full_text_search_by_keyword_date_and_speaker(meeting, gateway):
    _, users = meeting
    h = users["ana"].headers

    def search(**params):
        return gateway.get("/api/transcripts/search", params=params, headers=h).json()

    hits = search(q="budget")
    assert hits["total"] == 2 and {i["segment"]["room_seq"] for i in hits["items"]} == {2, 4}
    assert "<b>budget</b>" in hits["items"][0]["headline"] and hits["items"][0]["room_name"] == "Budget"
    assert [i["segment"]["room_seq"] for i in search(q="presupuesto listo")["items"]] == [2]  # translations too
    assert search(q='"second budget"')["total"] == 1 and search(q="budget -second")["total"] == 1
    assert search(q="budget", start=(T0 + timedelta(seconds=30)).isoformat())["total"] == 1
    assert search(q="budget", end=(T0 + timedelta(seconds=30)).isoformat())["total"] == 1
    assert search(q="thank OR goodbye", speaker="ana")["total"] == 2
    assert search(q="budget", speaker=users["ana"].id)["total"] == 0
    assert search(q="budget", speaker=users["ben"].id, limit=1, offset=1)["items"][0]["segment"]["room_seq"] in (2, 4)
    assert json.dumps(search(q="nothing-like-this")) == json.dumps({"items": [], "total": 0})
