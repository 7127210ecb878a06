"""Diarization labels reach the transcript API and every export format."""

from __future__ import annotations

import uuid

from tests.conftest import run_sql


def test_labels_in_the_transcript_and_its_exports(gateway, accounts, database_url):
    ana = accounts.create("pro", name="Ana")
    room_id = gateway.post("/api/rooms", json={"name": "r", "diarization": True}, headers=ana.headers).json()["id"]
    for seq, label, text in [(1, "Speaker 1", "Shall we start?"), (2, "Speaker 2", "Yes, go ahead."), (3, None, "Ok.")]:
        run_sql(database_url, "INSERT INTO transcript_segments (room_id, speaker, speaker_name, seq, room_seq, "
                              "segment_id, audio_start_ms, audio_end_ms, language, text, spoken_at, speaker_label) "
                              "VALUES (:room, :speaker, 'Shared mic', :seq, :seq, :sid, :start, :end, 'en', :text, "
                              "now() + make_interval(secs => :at), :label)",
                params={"room": uuid.UUID(room_id), "speaker": ana.id, "seq": seq, "sid": f"s{seq}",
                        "start": seq * 2000, "end": seq * 2000 + 1500, "text": text, "label": label,
                        "at": float(seq)})
    items = gateway.get(f"/api/rooms/{room_id}/transcript", headers=ana.headers).json()["items"]
    assert [i["speaker_label"] for i in items] == ["Speaker 1", "Speaker 2", None]
    path = f"/api/rooms/{room_id}/transcript/export"
    srt = gateway.get(path, params={"format": "srt"}, headers=ana.headers).text
    assert "Shared mic (Speaker 1): Shall we start?" in srt and "Shared mic (Speaker 2): Yes, go ahead." in srt
    assert "Shared mic: Ok." in srt
    txt = gateway.get(path, params={"format": "txt"}, headers=ana.headers).text
    assert "Shared mic (Speaker 2): Yes, go ahead." in txt
    cues = gateway.get(path, params={"format": "json"}, headers=ana.headers).json()
    assert [c["speaker_label"] for c in cues] == ["Speaker 1", "Speaker 2", None]
    assert {c["speaker_name"] for c in cues} == {"Shared mic"}
