"""Audio ingest: ``/ws/rooms/{room}/audio``.

Protocol: the first message is JSON text, a :class:`~babelroom.audio.pcm.StreamFormat` (participant,
name, language, sample_rate 8000–48000, channels 1|2, format "s16le"). The server answers
``{"type": "ready"}``. Binary frames of PCM follow. A text ``{"type": "end"}`` ends the stream
cleanly. For every finished segment the server sends
``{"type": "segment", "segment_id", "seq", "status", "audio_start_ms", "audio_end_ms"}``
(status ``accepted`` or the reason VAD dropped it), so a client knows which finals to expect.

The socket needs an access token of a participant of the room (``?token=`` or the ``bearer``
subprotocol, see :mod:`babelroom.gateway.admission`); the speaker is that user (the header's
``participant`` is not trusted), the name and language come from the header. Room notices
(``{"type": "notice", …}``: the room closes in 5 minutes, …) arrive on this socket too.

Close codes (each counted in ``babelroom_ingest_rejected_total`` by reason):
- 4400: no or invalid header, or a malformed frame (reason says which);
- 1009: a frame larger than ``ingest_max_frame_bytes``;
- 1003: text where audio was expected;
- 4401, 4403, 4410: bad token, not admitted or no longer, room closed (see admission).
Whatever the close, the open segment is flushed first: speech already received is transcribed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from babelroom import metrics
from babelroom.audio.pcm import FrameError, PcmDecoder, StreamFormat
from babelroom.gateway.admission import admit, closing, watch_room
from babelroom.gateway.deps import close_with
from babelroom.gateway.origins import refuse_foreign_origin
from babelroom.ingest import SegmentNotice, SpeakerIngest

log = structlog.get_logger(__name__)
router = APIRouter()
ENDPOINT = "audio"
HEADER_TIMEOUT_S = 10


class IngestRejected(Exception):
    """The client broke the protocol; closes with ``code`` and ``reason``."""

    def __init__(self, code: int, metric_reason: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.metric_reason, self.reason = code, metric_reason, reason


async def _read_header(ws: WebSocket) -> StreamFormat:
    try:
        message = await asyncio.wait_for(ws.receive(), HEADER_TIMEOUT_S)
    except TimeoutError as exc:
        raise IngestRejected(4400, "no_header", "no header within 10 s") from exc
    if message.get("text") is None:
        raise IngestRejected(4400, "no_header", "the first message must be the JSON header")
    try:
        return StreamFormat.model_validate_json(message["text"])
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise IngestRejected(4400, "bad_header", f"bad header: {detail}") from exc


async def _notify(ws: WebSocket, notices: list[SegmentNotice]) -> None:
    for notice in notices:
        await ws.send_text(json.dumps({"type": "segment", **dataclasses.asdict(notice)}))


async def _pump(ws: WebSocket, decoder: PcmDecoder, ingest: SpeakerIngest) -> None:
    """Receive frames until the client ends or leaves; raise IngestRejected on a bad frame."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            try:
                audio = decoder.decode(message["bytes"])
            except FrameError as exc:
                code = 1009 if exc.reason == "frame_too_large" else 4400
                raise IngestRejected(code, exc.reason, f"{exc.reason}: {exc}") from exc
            await _notify(ws, await ingest.feed(audio))
            continue
        try:
            end = json.loads(message.get("text") or "").get("type") == "end"
        except (ValueError, AttributeError):
            end = False
        if not end:
            raise IngestRejected(
                1003, "unexpected_text", 'unexpected_text: after the header only {"type": "end"} is text'
            )
        await _notify(ws, await ingest.feed(decoder.flush()))
        await _notify(ws, await ingest.flush())
        await ws.close(code=1000, reason="end of stream")
        metrics.WS_CLOSED.labels(ENDPOINT, "1000").inc()
        return


@router.websocket("/ws/rooms/{room}/audio")
async def audio_socket(ws: WebSocket, room: str) -> None:
    """Take one speaker's PCM stream, segment it and put the segments on the bus."""
    settings, redis = ws.app.state.settings, ws.app.state.redis
    if await refuse_foreign_origin(ws, ENDPOINT):
        return
    admitted = await admit(ws, ENDPOINT, room)
    if admitted is None:
        return
    await ws.accept(subprotocol=admitted.subprotocol)
    metrics.WS_CONNECTIONS.labels(ENDPOINT).inc()
    ingest: SpeakerIngest | None = None
    watcher = asyncio.create_task(watch_room(ws, admitted))
    try:
        fmt = await _read_header(ws)
        decoder = PcmDecoder(fmt, max_frame_bytes=settings.ingest_max_frame_bytes)
        ingest = SpeakerIngest(
            room=room,
            speaker=str(admitted.user_id),
            speaker_name=fmt.name,
            language=fmt.language,
            settings=settings,
            redis=redis,
            publisher=ws.app.state.audio_publisher,
        )
        await ws.send_text(json.dumps({"type": "ready"}))
        pump = asyncio.create_task(_pump(ws, decoder, ingest))
        await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await close_with(ws, ENDPOINT, *closing(watcher))
        else:
            pump.result()  # raises IngestRejected
    except IngestRejected as exc:
        metrics.INGEST_REJECTED.labels(exc.metric_reason).inc()
        log.warning("ingest.rejected", room=room, reason=exc.reason)
        await close_with(ws, ENDPOINT, exc.code, exc.reason)
    finally:
        watcher.cancel()
        if ingest is not None:
            await ingest.flush()  # keeps accepted speech after a drop or a rejection
        metrics.WS_CONNECTIONS.labels(ENDPOINT).dec()
