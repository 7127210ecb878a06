"""Audio ingest: ``/ws/rooms/{room}/audio``.

Protocol: the first message is JSON text, a :class:`~babelroom.audio.pcm.StreamFormat` (participant,
name, language, sample_rate 8000–48000, channels 1|2, format "s16le"). The server answers
``{"type": "ready"}``. Binary frames of PCM follow. A text ``{"type": "end"}`` ends the stream
cleanly. For every finished segment the server sends
``{"type": "segment", "segment_id", "seq", "status", "audio_start_ms", "audio_end_ms"}``
(status ``accepted`` or the reason VAD dropped it), so a client knows which finals to expect.

The socket needs an access token of a *speaking* participant of the room (joined without
``listen_only``; ``?token=`` or the ``bearer`` subprotocol, see :mod:`babelroom.gateway.admission`).
The speaker is that user and the caption's speaker name is their account's display name: the
header's ``participant`` and ``name`` are ignored. The language comes from the header. One audio
stream per participant: a second one, on any gateway, is refused while the first is open. Room
notices (``{"type": "notice", …}``: the room closes in 5 minutes, …) arrive on this socket too.

Close codes (each counted in ``babelroom_ingest_rejected_total`` by reason):
- 4400: invalid header, or a malformed frame (reason says which);
- 4403: ``listen_only``: the participant joined listen-only (no speaking slot);
- 4408: ``header_timeout`` (no header within ``ingest_header_timeout_s``), ``idle`` (no frame for
  ``ingest_idle_timeout_s``) or ``too_slow`` (less than ``ingest_min_realtime_ratio`` of real time over
  ``ingest_rate_window_s``): the socket held a speaking slot without streaming;
- 4409: ``replaced``: a newer audio socket of this participant took the stream over (the newest wins);
- 1009: ``frame_too_large``: a frame larger than ``ingest_max_frame_bytes``;
- 1003: text where audio was expected;
- 1013: Redis or PostgreSQL unreachable (``babelroom_dependency_unavailable_total``);
- 4401, 4403, 4410, 4429: bad token, not admitted or no longer, room closed, socket cap (see admission).
Whatever the close, the open segment is flushed first: speech already received is transcribed.
A stereo header over what looks like mono data is counted (:mod:`babelroom.gateway.audio_checks`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid

import numpy as np
import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from babelroom import metrics
from babelroom.api.errors import unavailable_dependency
from babelroom.audio.pcm import FrameError, PcmDecoder, StreamFormat
from babelroom.config import Settings
from babelroom.gateway.admission import Admitted, admitted_socket, closing, watch_room
from babelroom.gateway.audio_checks import RateWatchdog, StereoCheck
from babelroom.gateway.deps import close_unavailable, close_with
from babelroom.gateway.origins import refuse_foreign_origin
from babelroom.ingest import SegmentNotice, SpeakerIngest
from babelroom.persist import stored_seq_floor

log = structlog.get_logger(__name__)
router = APIRouter()
ENDPOINT = "audio"

class IngestRejected(Exception):
    """The client broke the protocol or a limit; closes with ``code`` and ``reason``."""

    def __init__(self, code: int, metric_reason: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.metric_reason, self.reason = code, metric_reason, reason


class AudioStreamLock:
    """The one audio stream of a participant: ``audio:stream:{room}:{user}`` holds the socket's id
    and expires ``ttl_s`` after its last renewal.

    The newest socket wins: opening a second audio socket takes the stream over, and the older socket
    is closed 4409 at its next renewal (within ``RENEW_INTERVAL_S``). A participant who reloads the
    page, or whose gateway died, streams again at once instead of waiting for the old lock to lapse,
    and one lease still carries one stream.
    """

    def __init__(self, redis: aioredis.Redis, room: str, user: uuid.UUID, ttl_s: float) -> None:
        self.redis, self.key, self.ttl_ms = redis, f"audio:stream:{room}:{user}", int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    async def acquire(self) -> bool:
        """Take the stream; True when it took it over from another socket (counted)."""
        previous = await self.redis.set(self.key, self.token, px=self.ttl_ms, get=True)
        return previous is not None

    async def renew(self) -> tuple[int, str] | None:
        """Extend the lock; ``(4409, reason)`` when a newer socket took the stream over. A lock Redis
        lost is taken again."""
        held = await self.redis.get(self.key)
        if held == self.token.encode():
            await self.redis.pexpire(self.key, self.ttl_ms)
            return None
        if held is None and await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return None
        return 4409, "replaced: a newer audio stream of yours in this room took over"

    async def release(self) -> None:
        """Give the lock up if this socket still holds it."""
        if await self.redis.get(self.key) == self.token.encode():
            await self.redis.delete(self.key)


async def _read_header(ws: WebSocket, timeout_s: float) -> StreamFormat:
    try:
        message = await asyncio.wait_for(ws.receive(), timeout_s)
    except TimeoutError as exc:
        raise IngestRejected(4408, "header_timeout", f"header_timeout: no header within {timeout_s:g} s") from exc
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


def _check_channels(check: StereoCheck | None, frame: bytes, room: str) -> None:
    if check is None:
        return
    result = check.feed(np.frombuffer(frame, dtype="<i2"))
    if result is not None:
        metrics.INGEST_CHANNEL_CHECKS.labels(result).inc()
        if result == "mono_as_stereo":
            log.warning("ingest.mono_as_stereo", room=room, detail="the header says 2 channels, the audio "
                        "looks like one channel's samples interleaved: captions will be garbled")


async def _pump(ws: WebSocket, decoder: PcmDecoder, ingest: SpeakerIngest, settings: Settings) -> None:
    """Receive frames until the client ends or leaves; raise IngestRejected on a bad frame or a stream
    that is idle or slower than real time (see :class:`RateWatchdog`)."""
    loop = asyncio.get_running_loop()
    fmt = decoder.fmt
    watchdog = RateWatchdog(idle_timeout_s=settings.ingest_idle_timeout_s, window_s=settings.ingest_rate_window_s,
                            min_ratio=settings.ingest_min_realtime_ratio, started=loop.time())
    stereo = StereoCheck(fmt.sample_rate, settings.ingest_channel_check_s) if fmt.channels == 2 else None
    while True:
        try:
            message = await asyncio.wait_for(ws.receive(), max(0.0, watchdog.next_check() - loop.time()))
        except TimeoutError:
            message = None
        slow = watchdog.verdict(loop.time())
        if slow is not None:
            raise IngestRejected(4408, *slow)
        if message is None:
            continue
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            frame: bytes = message["bytes"]
            try:
                audio = decoder.decode(frame)
            except FrameError as exc:
                code = 1009 if exc.reason == "frame_too_large" else 4400
                raise IngestRejected(code, exc.reason, f"{exc.reason}: {exc}") from exc
            watchdog.frame(loop.time(), len(frame) / fmt.frame_align_bytes / fmt.sample_rate)
            _check_channels(stereo, frame, ingest.room)
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
    if await refuse_foreign_origin(ws, ENDPOINT):
        return
    async with admitted_socket(ws, ENDPOINT, room) as admitted:
        if admitted is None:
            return
        await ws.accept(subprotocol=admitted.subprotocol)
        metrics.WS_CONNECTIONS.labels(ENDPOINT).inc()
        try:
            await _stream(ws, admitted)
        finally:
            metrics.WS_CONNECTIONS.labels(ENDPOINT).dec()


async def _stream(ws: WebSocket, admitted: Admitted) -> None:
    settings: Settings = ws.app.state.settings
    redis: aioredis.Redis = ws.app.state.redis
    room = admitted.room
    ingest: SpeakerIngest | None = None
    lock = AudioStreamLock(redis, room, admitted.user_id, settings.room_lease_ttl_s)
    locked = False
    subscription = None
    watcher: asyncio.Task[tuple[int, str]] | None = None
    try:
        if not admitted.speaker:
            raise IngestRejected(4403, "listen_only", "listen_only: you joined listen-only; join as a speaker "
                                 "(POST /api/rooms/{id}/join without listen_only) to stream audio")
        if await lock.acquire():
            metrics.INGEST_REJECTED.labels("replaced").inc()
            log.info("ingest.stream_replaced", room=room, user=str(admitted.user_id))
        locked = True
        subscription = await ws.app.state.feeds.subscribe(room, captions=False)
        watcher = asyncio.create_task(watch_room(ws, admitted, subscription, on_renew=lock.renew))
        header = asyncio.create_task(_read_header(ws, settings.ingest_header_timeout_s))
        await asyncio.wait({header, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not header.done():
            header.cancel()
            await asyncio.gather(header, return_exceptions=True)
            await close_with(ws, ENDPOINT, *closing(watcher))
            return
        fmt = header.result()
        decoder = PcmDecoder(fmt, max_frame_bytes=settings.ingest_max_frame_bytes)
        ingest = SpeakerIngest(
            room=room, speaker=str(admitted.user_id), speaker_name=admitted.display_name,
            language=fmt.language, settings=settings, redis=redis, publisher=ws.app.state.audio_publisher,
            seq_floor=await stored_seq_floor(ws.app.state.db, room, str(admitted.user_id)),
        )
        await ws.send_text(json.dumps({"type": "ready"}))
        pump = asyncio.create_task(_pump(ws, decoder, ingest, settings))
        await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await close_with(ws, ENDPOINT, *closing(watcher))
        else:
            pump.result()  # raises IngestRejected or a dependency's error
    except IngestRejected as exc:
        metrics.INGEST_REJECTED.labels(exc.metric_reason).inc()
        log.warning("ingest.rejected", room=room, reason=exc.reason)
        await close_with(ws, ENDPOINT, exc.code, exc.reason)
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is None:
            raise
        await close_unavailable(ws, ENDPOINT, dependency)
    finally:
        if watcher is not None:
            watcher.cancel()
        if subscription is not None:
            ws.app.state.feeds.unsubscribe(subscription)
        await _wind_up(ingest, lock if locked else None, room)


async def _wind_up(ingest: SpeakerIngest | None, lock: AudioStreamLock | None, room: str) -> None:
    """Flush the open segment (speech already received is transcribed) and give the stream lock up;
    with Redis unreachable both are skipped (the lock lapses by itself)."""
    try:
        if ingest is not None:
            await ingest.flush()
        if lock is not None:
            await lock.release()
    except Exception as exc:
        if unavailable_dependency(exc) is None:
            raise
        log.warning("ingest.wind_up_failed", room=room, error=repr(exc))
