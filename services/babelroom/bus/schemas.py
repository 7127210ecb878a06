"""Versioned message schemas carried between the stages on Redis Streams.

Every message has ``v`` (the schema version). A stream entry holds two fields: ``m`` (the message as
JSON) and, for audio, ``pcm`` (raw bytes, kept out of the JSON so it is not base64-inflated).

Timeline conventions:
- ``audio_start_ms`` / ``audio_end_ms``: the speaker's own audio timeline (ms since the speaker's stream
  started), so a client can line captions up with what it sent. ``audio_end_ms`` is the end of the last
  *speech* frame, not of the trailing silence that closed the segment.
- ``timings``: wall-clock stamps (ms since the Unix epoch) that each stage adds on its way through;
  :func:`stage_durations` turns them into per-stage milliseconds.
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, computed_field
from redis.typing import EncodableT, FieldT

SCHEMA_VERSION = 1
Kind = Literal["partial", "final"]

#: Wall-clock stamps in pipeline order, each with the stage that ends at it.
TIMING_STAMPS = {
    "segment_end": "",
    "published": "ingest",
    "stt_start": "stt_queue",
    "stt_end": "stt",
    "mt_start": "mt_queue",
    "mt_end": "mt",
    "tts_start": "tts_queue",
    "tts_end": "tts",
    "sent": "delivery",
}


def now_ms() -> float:
    """Wall-clock time in ms since the Unix epoch."""
    return time.time() * 1000.0


class Message(BaseModel):
    """Base of every bus message: a version and JSON (de)serialisation to stream fields."""

    # model_dump_json writes every field, so the serialization JSON Schema (the web app's socket types,
    # babelroom.gateway.schema_export) lists fields with a default_factory as required too.
    model_config = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)

    v: int = SCHEMA_VERSION

    def to_fields(self) -> dict[FieldT, EncodableT]:
        """The Redis stream entry for this message."""
        return {"m": self.model_dump_json()}

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Self:
        """Parse a Redis stream entry.

        Raises:
            pydantic.ValidationError: the entry is not a message of this schema.
        """
        return cls.model_validate_json(fields[b"m"])


class SegmentHeader(BaseModel):
    """Who said a segment and where it sits in the speaker's timeline."""

    room: str
    speaker: str = Field(description="Participant id")
    speaker_name: str
    language: str = Field(description="Source language, ISO 639-1 (en, es …); in segment audio also 'auto' "
                          "(the speaker asked for language identification)")
    language_detected: bool = Field(
        False, description="The language was identified from the speech (the speaker joined with 'auto')"
    )
    segment_id: str
    seq: int = Field(description="Per-speaker segment number, 1-based, shared by its partials")
    audio_start_ms: int
    audio_end_ms: int

    def header(self) -> dict[str, object]:
        """Just the header fields, to build the next stage's message for the same segment."""
        return self.model_dump(include=set(SegmentHeader.model_fields))


class SegmentAudio(Message, SegmentHeader):
    """A segment's audio so far (partial) or in full (final), for STT. Stream ``audio``.

    ``pcm`` is mono s16le at 16 kHz: ``(n_samples,) int16`` as bytes.
    """

    kind: Kind
    revision: int = Field(0, description="Partial number within the segment; finals use -1")
    dropped: str | None = Field(None, description="Why a final carries no audio (VAD rejected it)")
    overlap_ms: int = Field(0, description="Leading audio repeated from the previous, cut segment (ms)")
    doubtful: bool = Field(False, description="The VAD doubted it is speech: keep its text only if Whisper is sure")
    pcm: bytes = Field(b"", exclude=True)
    timings: dict[str, float] = Field(default_factory=dict)

    def to_fields(self) -> dict[FieldT, EncodableT]:
        return {"m": self.model_dump_json(), "pcm": self.pcm}

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Self:
        msg = cls.model_validate_json(fields[b"m"])
        msg.pcm = fields.get(b"pcm", b"")
        return msg


class Transcript(Message, SegmentHeader):
    """A partial or final hypothesis of a segment. Stream ``transcripts``.

    For partials, ``stable_text`` is the prefix LocalAgreement-2 has committed and ``text`` the whole
    current hypothesis.
    """

    kind: Kind
    revision: int = -1
    text: str
    stable_text: str = ""
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    dropped: str | None = Field(None, description="Why a final has no text (VAD or STT filter)")
    timings: dict[str, float] = Field(default_factory=dict)


class Translation(BaseModel):
    """One rendering of a caption in a listener's language."""

    language: str
    text: str
    backend: str = Field(
        description="Which translator or route produced it ('bergamot', 'apertium>en>bergamot' …); 'source' when "
        "no MT was needed; with the untranslated source text: 'unavailable' when every backend failed, "
        "'no_route' when no translation is installed for the pair"
    )


class Caption(Message, SegmentHeader):
    """What a listener receives. Stream ``captions:{room}``; one entry per target language.

    ``type`` is ``partial`` (unstable, replaced in place), ``final``, or ``retract`` (the segment
    turned out not to be speech: remove its partial line). ``room_seq`` numbers the room's finals
    (1, 2, 3 … across speakers) so that a reconnecting listener can ask for everything after the last
    one it saw; partials and retractions carry 0.
    """

    type: Literal["partial", "final", "retract"]
    room_seq: int
    text: str
    translation: Translation
    avg_logprob: float | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    stages_ms: dict[str, float] = Field(default_factory=dict)


class FinalRecord(Message, SegmentHeader):
    """A final with every translation made of it, for the transcript history. Stream ``finals``
    (consumer group ``persist``); one entry per final, published by MT after its captions.

    ``translations`` maps each listener language to its rendering (the source language included, with
    backend ``source``). Empty finals (retractions) are not recorded.
    """

    room_seq: int
    text: str
    translations: dict[str, Translation]
    avg_logprob: float | None = None
    timings: dict[str, float] = Field(default_factory=dict)


class SpeechAudio(Message, SegmentHeader):
    """A final's translation spoken in one listener language. Stream ``tts:{room}``; one entry per
    (segment, language), made only for languages some audio listener of the room asked for.

    ``audio`` is one Ogg Opus file (``codec="opus"``: 48 kHz mono), kept out of the JSON like
    :class:`SegmentAudio`'s PCM. ``timings`` are the final's stamps plus ``tts_start``/``tts_end``: the
    final's text was ready at ``mt_end`` (t_final) and its speech at ``tts_end`` (t_tts_done).

    A long sentence is spoken in clause-sized chunks (:mod:`babelroom.tts.chunking`): one entry per
    chunk, same ``segment_id``, ``chunk`` 0 … ``chunks - 1`` in stream order, each its own Ogg Opus
    file of ``chunk_text``; ``tts_end`` is when that chunk was ready. A listener plays chunk 0 at once
    and the rest after it. A redelivered final may repeat chunks: (segment_id, language, chunk) is unique.

    ``type`` ``cloned_audio_ready``: the same sentence again, whole (one chunk), in the speaker's own
    cloned voice (premium speakers with a voice sample; the ``babelroom.xtts`` job, ``tts_backend``
    ``xtts``, ``voice`` ``clone:{sample id}``, made from 24 kHz audio). It comes after the quick voice's
    ``speech`` of the same ``segment_id``, or never: a client that has not played the quick voice yet may
    play this instead, and a replay should prefer it.
    """

    type: Literal["speech", "cloned_audio_ready"] = Field(
        "speech", description="speech: the quick voice; cloned_audio_ready: the speaker's cloned voice, later"
    )
    room_seq: int
    translation: Translation = Field(description="What is spoken: the listener language and its text")
    codec: Literal["opus"] = "opus"
    sample_rate: int = Field(48_000, description="Of the decoded audio (Hz)")
    duration_ms: int
    tts_backend: str = Field(description="The backend that spoke it (kokoro, piper, espeak, gtts)")
    voice: str
    cached: bool = Field(False, description="Taken from the speech cache, not synthesised now")
    audio: bytes = Field(b"", exclude=True)
    timings: dict[str, float] = Field(default_factory=dict)
    chunk: int = Field(0, ge=0, description="Index of this chunk of the sentence's speech (0 first; play in order)")
    chunks: int = Field(1, ge=1, description="How many chunks the sentence is spoken in (the last is chunks - 1)")
    chunk_text: str | None = Field(None, description="The words of this chunk; None: the whole translation")

    @computed_field(description="Length of the Ogg Opus file (bytes): on the caption socket, the binary frame "
                    "right after this JSON frame")
    def audio_bytes(self) -> int:
        return len(self.audio)

    def to_fields(self) -> dict[FieldT, EncodableT]:
        return {"m": self.model_dump_json(), "audio": self.audio}

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Self:
        msg = cls.model_validate_json(fields[b"m"])
        msg.audio = fields.get(b"audio", b"")
        return msg


NoticeCode = Literal["room_expiring", "room_closed", "participant_left", "history_lost", "speakers_updated"]


class SpeakerLabel(BaseModel):
    """A final's speaker inside one participant's audio (diarization): ``seq`` is the per-speaker number."""

    seq: int
    segment_id: str
    label: str = Field(examples=["Speaker 2"])


class Notice(Message):
    """A room event for its sockets. Stream ``notices:{room}``; sent to caption and audio sockets as
    ``{"type": "notice", "code": …}``.

    - ``room_expiring``: the room closes at ``closes_at_ms`` (sent ``room_warning_s`` before);
    - ``room_closed``: the room is closed (``reason``: closed, expired, empty); sockets close with 4410;
    - ``participant_left``: ``user`` left or vanished; that user's sockets close with 4403;
    - ``history_lost``: caption sockets only, made by the gateway (never on the stream): captions the
      client missed are gone (``reason``: ``store_reset``, ``stream_gone`` or ``trimmed``); after
      ``store_reset`` the ``room_seq`` numbering restarts;
    - ``speakers_updated``: diarization labelled finals of participant ``user`` (``speakers``: seq,
      segment id, label); a later notice may relabel the same finals.
    """

    type: Literal["notice"] = "notice"
    room: str
    code: NoticeCode
    message: str
    reason: str | None = None
    user: str | None = None
    closes_at_ms: float | None = Field(None, description="Wall clock, ms since the Unix epoch")
    speakers: list[SpeakerLabel] | None = None
    at_ms: float = Field(default_factory=now_ms)


def stage_durations(timings: dict[str, float]) -> dict[str, float]:
    """Per-stage durations (ms) from wall-clock stamps, plus ``total`` from first to last stamp.

    >>> stage_durations({"segment_end": 0, "stt_start": 5, "stt_end": 105})
    {'stt_queue': 5.0, 'stt': 100.0, 'total': 105.0}
    """
    present = [(k, timings[k]) for k in TIMING_STAMPS if k in timings]
    out = {TIMING_STAMPS[k]: round(t - prev, 1) for (_, prev), (k, t) in pairwise(present)}
    if present:
        out["total"] = round(present[-1][1] - present[0][1], 1)
    return out
