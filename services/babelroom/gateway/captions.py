"""Caption delivery: ``/ws/rooms/{room}/captions?lang=xx[&since=N][&audio=1]``.

The socket sends JSON :class:`~babelroom.bus.schemas.Caption` objects (``type`` partial, final or
retract) whose ``translation.language`` is ``lang``, with the server's per-stage timings in
``stages_ms``. ``since=N`` first replays every final with ``room_seq > N`` still in the room's stream
``captions:{room}`` (finals only, those of the last ``captions_replay_s``; a reconnecting client passes
the last ``room_seq`` it saw), then the diarization labels of those finals (the room's
``speakers_updated`` notices still held, cut down to them), then continues live without a gap. Partials
and retractions come live only (from the side stream ``captions:{room}:partial``, through the room feed).

The socket needs an access token of a participant of the room (``?token=`` or the ``bearer``
subprotocol, see :mod:`babelroom.gateway.admission`). Room notices arrive in between captions as
``{"type": "notice", "code": "room_expiring" | "room_closed" | "participant_left", …}``
(:class:`~babelroom.bus.schemas.Notice`): the room's expiry warning 5 minutes before it closes, then
its closing.

The room's captions and notices come from the gateway's room feed (:mod:`babelroom.gateway.room_feed`,
one Redis reader per room, however many sockets). A Redis restart does not close the socket: the feed
retries, and the socket gets a ``history_lost`` notice when captions it had not seen are gone; so does
a client whose ``since=N`` cannot be replayed (the stream no longer holds the finals after ``N``, or
its ``room_seq`` numbering restarted below ``N``). It then starts over from what is held.

Audio mode (``audio=1``): the socket is also an *audio listener* of ``lang`` (registered in
:mod:`babelroom.captions.listeners` mode ``audio`` while it is open, so ``babelroom tts`` speaks the
room's finals in ``lang``), and gets each spoken translation in ``lang`` as two frames in a row: a JSON
text frame, the :class:`~babelroom.bus.schemas.SpeechAudio` (``type`` ``speech``) with ``audio_bytes``,
then one binary frame of exactly ``audio_bytes`` bytes, an Ogg Opus file (48 kHz mono). Speech that
would leave more than ``ws_speech_max_age_s`` after its final's text was ready (``timings.mt_end``) is
dropped (``babelroom_speech_dropped_total{reason="stale"}``). ``since=`` does not replay speech. A premium
speaker's sentence may come again later in their cloned voice: the same two frames, ``type``
``cloned_audio_ready`` (the ``babelroom.xtts`` job, :mod:`babelroom.jobs.xtts`).

Close codes: 4400 bad query (reason says which parameter); 1013 Redis unavailable for longer than
``ws_redis_outage_grace_s`` or the socket fell ``ws_queue_messages`` behind; 4401, 4403, 4410, 4429
see admission.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import cast

import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from babelroom import metrics
from babelroom.api.errors import unavailable_dependency
from babelroom.bus.schemas import Caption, Notice, SpeechAudio, now_ms, stage_durations
from babelroom.bus.streams import StreamEntries, captions_stream, notices_stream
from babelroom.captions import listeners
from babelroom.gateway.admission import Admitted, admitted_socket, closing, watch_room
from babelroom.gateway.deps import close_unavailable, close_with
from babelroom.gateway.origins import refuse_foreign_origin
from babelroom.gateway.room_feed import Subscription, history_lost, stream_id_key
from babelroom.languages import language_code

log = structlog.get_logger(__name__)
router = APIRouter()
ENDPOINT = "captions"
HEARTBEAT_S = 2  # short: a Redis that lost its data learns the listeners again within it


async def _register(redis: aioredis.Redis, room: str, lang: str, conn_id: str, audio: bool) -> None:
    """Register (or refresh) the socket as a caption listener of ``lang``, and as an audio listener too
    in audio mode."""
    await listeners.register(redis, room, lang, conn_id)
    if audio:
        await listeners.register(redis, room, lang, conn_id, mode="audio")


async def _unregister(redis: aioredis.Redis, room: str, lang: str, conn_id: str, audio: bool) -> None:
    await listeners.unregister(redis, room, lang, conn_id)
    if audio:
        await listeners.unregister(redis, room, lang, conn_id, mode="audio")


async def _heartbeat(redis: aioredis.Redis, room: str, lang: str, conn_id: str, audio: bool) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            await _register(redis, room, lang, conn_id, audio)
        except (RedisConnectionError, RedisTimeoutError) as exc:  # the room feed times the outage
            log.warning("captions.listener_refresh_failed", room=room, error=repr(exc))


async def _send(ws: WebSocket, caption: Caption) -> None:
    caption.timings["sent"] = now_ms()
    caption.stages_ms = stage_durations(caption.timings)
    await ws.send_text(caption.model_dump_json())
    metrics.CAPTIONS_DELIVERED.labels(caption.type).inc()
    if "segment_end" in caption.timings and caption.type != "retract":
        latency_s = (caption.timings["sent"] - caption.timings["segment_end"]) / 1000
        metrics.CAPTION_LATENCY.labels(caption.type).observe(latency_s)
        if caption.type == "final":
            metrics.STAGE_LATENCY.labels("end_to_end").observe(latency_s)


async def _send_speech(ws: WebSocket, speech: SpeechAudio, max_age_s: float) -> None:
    """Send ``speech`` as its JSON header then its Ogg Opus bytes, unless it is stale: later than
    ``max_age_s`` after its final's text was ready (``mt_end``; else ``tts_end``)."""
    sent = now_ms()
    ready = speech.timings.get("mt_end", speech.timings.get("tts_end", sent))
    if sent - ready > max_age_s * 1000:
        metrics.SPEECH_DROPPED.labels("stale").inc()
        return
    speech.timings["sent"] = sent
    await ws.send_text(speech.model_dump_json())
    await ws.send_bytes(speech.audio)
    metrics.SPEECH_DELIVERED.labels(speech.tts_backend).inc()
    if "segment_end" in speech.timings:
        metrics.SPEECH_LATENCY.observe((sent - speech.timings["segment_end"]) / 1000)


def _since_lost(room_seqs: list[int], since: int) -> str | None:
    """Why finals after ``since`` cannot all be replayed from a stream holding the finals
    ``room_seqs`` (any language), or None when they can."""
    if since == 0:
        return None
    if not room_seqs:
        return "stream_gone"
    if max(room_seqs) < since:
        return "store_reset"  # the numbering restarted: Redis lost the room's counter and stream
    if min(room_seqs) > since + 1:
        return "trimmed"
    return None


async def _replay(ws: WebSocket, redis: aioredis.Redis, room: str, lang: str, since: int) -> str:
    """Send the finals after ``since`` (after a ``history_lost`` notice when some are gone); return
    the id of the last stream entry looked at (live delivery goes on after it)."""
    entries = [(entry_id.decode(), Caption.from_fields(fields))
               for entry_id, fields in cast(StreamEntries, await redis.xrange(captions_stream(room)))]
    lost = _since_lost([c.room_seq for _, c in entries if c.type == "final"], since)
    if lost is not None:
        metrics.CAPTION_HISTORY_LOST.labels(lost).inc()
        await ws.send_text(history_lost(room, lost, since).model_dump_json())
        since = 0
    replayed: set[str] = set()
    for _, caption in entries:
        if caption.type == "final" and caption.room_seq > since and caption.translation.language == lang:
            await _send(ws, caption)
            replayed.add(caption.segment_id)
    await _replay_speaker_labels(ws, redis, room, replayed)
    return entries[-1][0] if entries else "0-0"


async def _replay_speaker_labels(ws: WebSocket, redis: aioredis.Redis, room: str, segment_ids: set[str]) -> None:
    """Send the room's ``speakers_updated`` notices still held (``notices:{room}``), in order, each cut
    down to the labels of ``segment_ids`` (the finals just replayed): notices come live only, so without
    this a listener who joins late or reconnects would see those finals unlabelled."""
    if not segment_ids:
        return
    for _, fields in cast(StreamEntries, await redis.xrange(notices_stream(room))):
        notice = Notice.from_fields(fields)
        speakers = [s for s in notice.speakers or [] if s.segment_id in segment_ids]
        if notice.code == "speakers_updated" and speakers:
            await ws.send_text(notice.model_copy(update={"speakers": speakers}).model_dump_json())


async def _until_disconnect(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


def _query(ws: WebSocket) -> tuple[str, int | None, bool]:
    """``lang``, ``since`` and ``audio``; raises ValueError naming the bad one."""
    lang = language_code(ws.query_params.get("lang"))
    since_raw = ws.query_params.get("since")
    since = int(since_raw) if since_raw is not None else None
    if since is not None and since < 0:
        raise ValueError("since must be ≥ 0")
    audio = ws.query_params.get("audio", "0")
    if audio not in ("0", "1"):
        raise ValueError("audio must be 0 or 1")
    return lang, since, audio == "1"


@router.websocket("/ws/rooms/{room}/captions")
async def captions_socket(ws: WebSocket, room: str) -> None:
    """Stream a room's captions in one language to a listener."""
    if await refuse_foreign_origin(ws, ENDPOINT):
        return
    async with admitted_socket(ws, ENDPOINT, room) as admitted:
        if admitted is None:
            return
        try:
            lang, since, audio = _query(ws)
        except ValueError as exc:
            await ws.accept(subprotocol=admitted.subprotocol)
            await close_with(ws, ENDPOINT, 4400, f"bad query: {exc}")
            return
        await _serve(ws, admitted, lang, since, audio)


async def _serve(ws: WebSocket, admitted: Admitted, lang: str, since: int | None, audio: bool) -> None:
    redis: aioredis.Redis = ws.app.state.redis
    room, conn_id = admitted.room, uuid.uuid4().hex
    subscription: Subscription | None = None
    tasks: list[asyncio.Task] = []
    code = 1000
    accepted = False
    try:
        # Registered before the socket opens: once a client is connected, MT translates for it.
        await _register(redis, room, lang, conn_id, audio)
        subscription = await ws.app.state.feeds.subscribe(room, captions=True, speech=audio)
        await ws.accept(subprotocol=admitted.subprotocol)
        accepted = True
        metrics.WS_CONNECTIONS.labels(ENDPOINT).inc()
        replayed_to = await _replay(ws, redis, room, lang, since) if since is not None else "0-0"

        async def on_caption(entry_id: str, caption: Caption) -> None:
            if entry_id and replayed_to != "0-0" and stream_id_key(entry_id) <= stream_id_key(replayed_to):
                return  # already sent by the replay
            if caption.translation.language == lang:
                await _send(ws, caption)

        max_age_s = ws.app.state.settings.ws_speech_max_age_s

        async def on_speech(speech: SpeechAudio) -> None:
            if speech.translation.language == lang:
                await _send_speech(ws, speech, max_age_s)

        watcher = asyncio.create_task(watch_room(ws, admitted, subscription, on_caption=on_caption,
                                                 on_speech=on_speech))
        tasks = [asyncio.create_task(_heartbeat(redis, room, lang, conn_id, audio)),
                 asyncio.create_task(_until_disconnect(ws)), watcher]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            code, reason = closing(watcher)
            await close_with(ws, ENDPOINT, code, reason)
        for task in done - {watcher}:
            if task.exception() and not isinstance(task.exception(), WebSocketDisconnect):
                log.error("captions.failed", room=room, error=repr(task.exception()))
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is None:
            raise
        if not accepted:
            await ws.accept(subprotocol=admitted.subprotocol)
        code = 1013
        await close_unavailable(ws, ENDPOINT, dependency)
    finally:
        for task in tasks:
            task.cancel()
        if subscription is not None:
            ws.app.state.feeds.unsubscribe(subscription)
        # Shielded: a server shutting down cancels this handler, and the entry must still go.
        with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
            await asyncio.shield(_unregister(redis, room, lang, conn_id, audio))
        if accepted:
            metrics.WS_CONNECTIONS.labels(ENDPOINT).dec()
        if code == 1000:
            metrics.WS_CLOSED.labels(ENDPOINT, "1000").inc()
