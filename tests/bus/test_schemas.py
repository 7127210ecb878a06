import pytest
from pydantic import ValidationError

from babelroom.bus.schemas import SCHEMA_VERSION, Caption, SegmentAudio, Transcript, Translation, stage_durations

HEADER = dict(
    room="r1", speaker="alice", speaker_name="Alice", language="en", segment_id="s1", seq=3,
    audio_start_ms=1000, audio_end_ms=2500,
)


def test_segment_audio_round_trip_keeps_pcm_out_of_json():
    msg = SegmentAudio(**HEADER, kind="final", pcm=b"\x01\x00" * 160, timings={"published": 1.0})
    fields = msg.to_fields()
    assert b"\x01\x00" not in fields["m"].encode()
    back = SegmentAudio.from_fields({k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()})
    assert back == msg and back.pcm == msg.pcm and back.v == SCHEMA_VERSION


def test_transcript_header_carries_over():
    audio = SegmentAudio(**HEADER, kind="partial", revision=2)
    t = Transcript(**audio.header(), kind="partial", text="hello there")
    assert t.header() == {**HEADER, "language_detected": False}
    auto = SegmentAudio(**{**HEADER, "language": "auto"}, kind="final")
    auto.language, auto.language_detected = "es", True  # what the STT stage does once it identified Spanish
    assert Caption(**Transcript(**auto.header(), kind="final", text="hola").header(), type="final", room_seq=1,
                   text="hola", translation=Translation(language="en", text="hello", backend="apertium")
                   ).language_detected


def test_caption_types_and_validation():
    c = Caption(**HEADER, type="final", room_seq=7, text="hello",
                translation=Translation(language="es", text="hola", backend="apertium"))
    assert Caption.from_fields({b"m": c.to_fields()["m"].encode()}) == c
    with pytest.raises(ValidationError):
        Caption(**HEADER, type="maybe", room_seq=1, text="x", translation=c.translation)
    with pytest.raises(ValidationError):
        Transcript.from_fields({b"m": b'{"v": 1, "kind": "final"}'})


def test_stage_durations_in_pipeline_order():
    stamps = {"segment_end": 100.0, "published": 101.0, "stt_start": 111.0, "stt_end": 311.0,
              "mt_start": 320.0, "mt_end": 350.0, "sent": 352.0}
    assert stage_durations(stamps) == {
        "ingest": 1.0, "stt_queue": 10.0, "stt": 200.0, "mt_queue": 9.0, "mt": 30.0, "delivery": 2.0, "total": 252.0,
    }
    assert stage_durations({"stt_start": 5.0, "stt_end": 7.5}) == {"stt": 2.5, "total": 2.5}
