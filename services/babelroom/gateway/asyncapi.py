"""The gateway's two WebSocket protocols as an AsyncAPI 3.0 document (``docs/asyncapi.yaml``).

The message schemas are generated from the models the sockets use (:class:`~babelroom.audio.pcm.StreamFormat`,
:class:`~babelroom.bus.schemas.Caption`, :class:`~babelroom.bus.schemas.Notice`,
:class:`~babelroom.ingest.SegmentNotice`), the examples are instances of them, and
:data:`CLOSE_CODES` is the close-code table of ``docs/websockets.md``; ``tests/gateway/test_asyncapi.py``
fails when the committed YAML differs from :func:`document` or the code closes a socket with a code
the table lacks. Regenerate with ``make asyncapi`` (``python -m babelroom.gateway.asyncapi``).

The document describes the gateway: it *receives* the audio socket's header, PCM and end, and
*sends* ``ready``, ``segment`` notices, captions and room notices.

Source: AsyncAPI 3.0.0, https://www.asyncapi.com/docs/reference/specification/v3.0.0; WebSocket
bindings 0.1.0, https://github.com/asyncapi/bindings/tree/master/websockets.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from babelroom import __version__
from babelroom.audio.pcm import StreamFormat
from babelroom.bus.schemas import Caption, Notice, SpeechAudio, Translation
from babelroom.config import Settings
from babelroom.ingest import SegmentNotice

REF = "#/components/schemas/{model}"
AUDIO = "/ws/rooms/{room}/audio"
CAPTIONS = "/ws/rooms/{room}/captions"
MAX_FRAME_BYTES = Settings.model_fields["ingest_max_frame_bytes"].default


@dataclass(frozen=True)
class CloseCode:
    """One WebSocket close code (RFC 6455 §7.4; 4000–4999 are the application's own).

    ``sockets``: ``audio``, ``captions`` or ``both``.
    """

    code: int
    name: str
    sockets: Literal["audio", "captions", "both"]
    meaning: str
    client_should: str


CLOSE_CODES: tuple[CloseCode, ...] = (
    CloseCode(1000, "normal", "both", "audio: the stream ended after `{\"type\": \"end\"}` and the open "
              "segment was flushed; captions: the client closed; either: a path no route has",
              "nothing"),
    CloseCode(1003, "unsupported data", "audio", "text other than `{\"type\": \"end\"}` after the header",
              "send audio as binary frames"),
    CloseCode(1009, "message too big", "audio",
              f"a binary frame larger than `ingest_max_frame_bytes` ({MAX_FRAME_BYTES}); messages over "
              "`ws_max_message_bytes` are closed by the server before it reads them",
              "send smaller frames (20–100 ms)"),
    CloseCode(1011, "internal error", "both", "the server failed watching the room", "reconnect with backoff"),
    CloseCode(1013, "try again later", "both", "a dependency (Redis, PostgreSQL; the reason names it) is "
              "unavailable (captions: Redis for longer than `ws_redis_outage_grace_s`), or a caption socket "
              "fell `ws_queue_messages` behind", "reconnect with backoff (captions: with `since=`)"),
    CloseCode(4400, "bad request", "both", "audio: a bad header, an empty or misaligned frame; captions: a bad "
              "`lang`, `since` or `audio` (the reason names it)", "fix the request; do not retry"),
    CloseCode(4401, "unauthorized", "both", "no, malformed, expired or wrongly signed access token",
              "refresh the token (POST /api/auth/refresh), reconnect"),
    CloseCode(4403, "forbidden", "both", "not a present participant of this open room: never joined, left, or "
              "the lease lapsed (also sent when the user leaves while connected); audio: joined listen-only; "
              "or the page's Origin is not allowed (reason `origin … not allowed`: docs/security.md)",
              "join again (POST /api/rooms/{id}/join, as a speaker for audio) if that was not meant; a foreign "
              "origin: do not retry"),
    CloseCode(4408, "timeout", "audio", "no header within `ingest_header_timeout_s`, no frame for "
              "`ingest_idle_timeout_s`, or less than `ingest_min_realtime_ratio` of real time over "
              "`ingest_rate_window_s`", "reconnect when there is audio to stream"),
    CloseCode(4409, "conflict", "audio", "a newer audio socket of the participant took the stream over (any gateway)",
              "do not reconnect: the newer stream is live"),
    CloseCode(4410, "gone", "both", "the room closed (owner, its tier's length, or empty)", "do not reconnect"),
    CloseCode(4429, "too many sockets", "both", "`ws_max_sockets_per_user` or `ws_max_sockets_per_room` open "
              "sockets on this gateway", "close another socket or retry later"),
)


def _schemas(*models: type[BaseModel], mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    """Component schemas of ``models`` (and the models they use), references as ``#/components/schemas``."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    for schema in out.values():  # the docstrings' "Raises:" sections are for Python callers
        if "description" in schema:
            schema["description"] = schema["description"].split("\n\nRaises:")[0]
    return out


def _typed(name: str, type_: str, description: str, extra: dict[str, Any] | None = None,
           required: list[str] | None = None) -> dict[str, Any]:
    """An object schema whose ``type`` is the constant ``type_``."""
    return {
        "title": name, "description": description, "type": "object",
        "properties": {"type": {"const": type_, "type": "string"}, **(extra or {})},
        "required": ["type", *(required or [])],
    }


def schemas() -> dict[str, Any]:
    """Every message schema of both sockets."""
    segment = TypeAdapter(SegmentNotice).json_schema(ref_template=REF)
    return {
        **_schemas(StreamFormat, mode="validation"),
        **_schemas(Caption, Notice, SpeechAudio, mode="serialization"),
        "Ready": _typed("Ready", "ready", "The header was accepted: send PCM."),
        "End": _typed("End", "end", "The stream ends: the server flushes the open segment and closes with 1000."),
        "Segment": _typed("Segment", "segment", "A finished segment of this speaker: `status` is `accepted` "
                          "(captions will follow) or why VAD dropped it; `cut` is true when the segmenter cut it "
                          "(not a pause or the stream's end).",
                          segment["properties"], segment["required"]),
        "PcmFrame": {"title": "PcmFrame", "type": "string", "format": "binary",
                     "description": "Interleaved little-endian signed 16-bit PCM at the header's `sample_rate` "
                     "and `channels`; non-empty, a whole number of samples on every channel, at most "
                     f"`ingest_max_frame_bytes` ({MAX_FRAME_BYTES})."},
        "OpusFile": {"title": "OpusFile", "type": "string", "format": "binary",
                     "description": "One Ogg Opus file (48 kHz mono), exactly the preceding SpeechAudio's "
                     "`audio_bytes` long: that sentence spoken."},
    }


def examples() -> dict[str, dict[str, Any]]:
    """One example payload per JSON message, built from the models (so they validate)."""
    room, segment_id = "6f1c0b9e-2a51-4c61-9d0e-0c1e3a7b5d42", "9c2f4e1a7b3d5e60"
    caption = Caption.model_validate({
        "room": room, "speaker": "1b7e4c0a-3f7d-4e55-8a39-5a8f1d2c9e10", "speaker_name": "Ana", "language": "en",
        "segment_id": segment_id, "seq": 3, "audio_start_ms": 8120, "audio_end_ms": 10480,
        "type": "final", "room_seq": 12, "text": "Let's look at the budget.",
        "translation": Translation(language="es", text="Veamos el presupuesto.", backend="apertium"),
        "timings": {"segment_end": 1764590400480.0, "sent": 1764590401210.0}, "stages_ms": {"total": 730.0}})
    notice = Notice(room=room, code="room_expiring", message="this room closes in 5 min (tier limit)",
                    closes_at_ms=1764590700000.0, at_ms=1764590400000.0)
    speech = SpeechAudio.model_validate({
        **caption.header(), "room_seq": 12, "translation": caption.translation, "duration_ms": 1650,
        "tts_backend": "kokoro", "voice": "jm_kumo", "audio": b"\0" * 7012,
        "timings": {"segment_end": 1764590400480.0, "mt_end": 1764590401190.0, "tts_start": 1764590401195.0,
                    "tts_end": 1764590401790.0, "sent": 1764590401800.0}})
    segment = SegmentNotice(segment_id=segment_id, seq=3, status="accepted", audio_start_ms=8120,
                            audio_end_ms=10480)
    return {
        "StreamFormat": StreamFormat(participant="ana", name="Ana", language="en", sample_rate=48000,
                                     channels=1).model_dump(mode="json"),
        "Ready": {"type": "ready"},
        "End": {"type": "end"},
        "Segment": {"type": "segment", **TypeAdapter(SegmentNotice).dump_python(segment, mode="json")},
        "Caption": caption.model_dump(mode="json"),
        "Notice": notice.model_dump(mode="json"),
        "SpeechAudio": speech.model_dump(mode="json"),
    }


def _message(name: str, title: str, summary: str, content_type: str = "application/json") -> dict[str, Any]:
    message: dict[str, Any] = {"name": name, "title": title, "summary": summary, "contentType": content_type,
                               "payload": {"$ref": REF.format(model=name)}}
    example = examples().get(name)
    if example is not None:
        message["examples"] = [{"name": name.lower(), "payload": example}]
    return message


def _close_codes(socket: str) -> list[dict[str, Any]]:
    return [{"code": c.code, "name": c.name, "meaning": c.meaning, "client_should": c.client_should}
            for c in CLOSE_CODES if c.sockets in (socket, "both")]


ROOM = {"description": "The room's id (a UUID), as `POST /api/rooms` returns it"}
TOKEN = {"type": "string", "description": "An access token (or the `bearer` subprotocol instead)"}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``/ws/rooms/{room}/audio`` and ``/ws/rooms/{room}/captions``."""
    messages = {
        "StreamFormat": _message("StreamFormat", "Stream header", "First message (text): who speaks, in what PCM"),
        "PcmFrame": _message("PcmFrame", "Audio frame", "Binary frames after the header", "application/octet-stream"),
        "End": _message("End", "End of stream", "Optional last message (text)"),
        "Ready": _message("Ready", "Header accepted", "Sent once after a valid header"),
        "Segment": _message("Segment", "Segment notice", "One per finished segment of the speaker"),
        "Caption": _message("Caption", "Caption", "A partial, final or retraction in the listener's language"),
        "Notice": _message("Notice", "Room notice", "room_expiring, room_closed or participant_left (own user)"),
        "SpeechAudio": _message("SpeechAudio", "Spoken translation header", "audio=1 only: one sentence's "
                                "translation spoken; the next frame is its OpusFile"),
        "OpusFile": _message("OpusFile", "Spoken translation audio", "audio=1 only: binary frame right after "
                             "its SpeechAudio header", "audio/ogg"),
    }
    ref = "#/components/messages/{}".format
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Babelroom sockets", "version": __version__,
            "description": "Audio in and live translated captions out. Both sockets need an access token of a "
            "present participant of the room (`POST /api/rooms/{id}/join` first): `?token=` or the "
            "subprotocol pair `bearer, <token>`, answered with the subprotocol `bearer`. Refusals and endings "
            "are close codes with a reason (`x-close-codes` of each channel; docs/websockets.md).",
        },
        "servers": {"gateway": {"host": "localhost:8000", "protocol": "ws",
                                "description": "The gateway (wss behind the TLS proxy in production)"}},
        "channels": {
            "audio": {
                "address": AUDIO, "title": "Audio ingest",
                "description": "One speaker's PCM stream. Text header, `ready`, binary frames, optional `end`; "
                "the server sends a `segment` notice per finished segment and the room's notices.",
                "parameters": {"room": ROOM},
                "messages": {name: {"$ref": ref(name)} for name in ("StreamFormat", "PcmFrame", "End", "Ready",
                                                                     "Segment", "Notice")},
                "bindings": {"ws": {"method": "GET", "query": {"type": "object", "properties": {"token": TOKEN}},
                                    "bindingVersion": "0.1.0"}},
                "x-close-codes": _close_codes("audio"),
            },
            "captions": {
                "address": CAPTIONS, "title": "Captions",
                "description": "A room's captions in one language, and its notices. `since=N` first replays "
                "the finals with `room_seq > N` still held, then the speakers_updated notices (diarization labels) "
                "still held for those finals, then goes on live without a gap. With `audio=1` "
                "each translated sentence also comes spoken: a SpeechAudio text frame then exactly one binary "
                "OpusFile frame of its `audio_bytes`; speech older than `ws_speech_max_age_s` (10 s) after its "
                "final's text is dropped, and `since=` does not replay speech. A premium speaker's sentence may "
                "come a second time, seconds later, in their own cloned voice: the same two frames with `type` "
                "`cloned_audio_ready`. The client sends nothing.",
                "parameters": {"room": ROOM},
                "messages": {name: {"$ref": ref(name)} for name in ("Caption", "Notice", "SpeechAudio", "OpusFile")},
                "bindings": {"ws": {"method": "GET", "query": {
                    "type": "object", "required": ["lang"], "properties": {
                        "lang": {"type": "string", "pattern": "^[a-z]{2}$",
                                 "description": "The listener's language (ISO 639-1)"},
                        "since": {"type": "integer", "minimum": 0,
                                  "description": "Last `room_seq` the client saw (replay after it)"},
                        "audio": {"type": "string", "enum": ["0", "1"], "default": "0",
                                  "description": "1: also hear the translation spoken (audio listener)"},
                        "token": TOKEN}}, "bindingVersion": "0.1.0"}},
                "x-close-codes": _close_codes("captions"),
            },
        },
        "operations": {
            "receiveAudio": {"action": "receive", "channel": {"$ref": "#/channels/audio"},
                             "summary": "The speaker's header, PCM frames and end",
                             "messages": [{"$ref": f"#/channels/audio/messages/{n}"}
                                          for n in ("StreamFormat", "PcmFrame", "End")],
                             "security": [{"$ref": "#/components/securitySchemes/token"},
                                          {"$ref": "#/components/securitySchemes/bearerSubprotocol"}]},
            "sendAudioEvents": {"action": "send", "channel": {"$ref": "#/channels/audio"},
                                "summary": "ready, segment notices and room notices to the speaker",
                                "messages": [{"$ref": f"#/channels/audio/messages/{n}"}
                                             for n in ("Ready", "Segment", "Notice")]},
            "sendCaptions": {"action": "send", "channel": {"$ref": "#/channels/captions"},
                             "summary": "Captions, room notices and (audio=1) spoken translations to a listener",
                             "messages": [{"$ref": f"#/channels/captions/messages/{n}"}
                                          for n in ("Caption", "Notice", "SpeechAudio", "OpusFile")],
                             "security": [{"$ref": "#/components/securitySchemes/token"},
                                          {"$ref": "#/components/securitySchemes/bearerSubprotocol"}]},
        },
        "components": {
            "schemas": schemas(),
            "messages": messages,
            "securitySchemes": {
                "token": {"type": "httpApiKey", "name": "token", "in": "query",
                          "description": "An access token from /api/auth/login or /api/auth/refresh"},
                "bearerSubprotocol": {"type": "httpApiKey", "name": "Sec-WebSocket-Protocol", "in": "header",
                                      "description": "Offer the subprotocols `bearer, <access token>` (browsers "
                                      "cannot set headers on a WebSocket); the server answers `bearer`"},
            },
        },
    }


def main() -> None:
    """Print the document as YAML (needs PyYAML, of the ``dev`` extra)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    sys.stdout.write("# Generated by `make asyncapi` (python -m babelroom.gateway.asyncapi): do not edit.\n")
    sys.stdout.write(yaml.dump(document(), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=110))


if __name__ == "__main__":
    main()
