"""Caption delivery: ``/ws/rooms/{room}/captions?lang=xx[&since=N]``.

The socket sends JSON :class:`~babelroom.bus.schemas.Caption` objects (``type`` partial, final or
retract) whose ``translation.language`` is ``lang``, with the server's per-stage timings in
``stages_ms``. ``since=N`` first replays every final with ``room_seq > N`` still in the room's stream
(a reconnecting client passes the last ``room_seq`` it saw), then continues live without a gap.

The socket needs an access token of a participant of the room (``?token=`` or the ``bearer``
subprotocol, see :mod:`babelroom.gateway.admission`). Room notices arrive in between captions as
``{"type": "notice", "code": "room_expiring" | "room_closed" | "participant_left", …}``
(:class:`~babelroom.bus.schemas.Notice`): the room's expiry warning 5 minutes before it closes, then
its closing.

Close codes: 4400 bad query (reason says which parameter); 4401, 4403, 4410 see admission.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import cast

import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from babelroom import metrics
from babelroom.bus.schemas import Caption, now_ms, stage_durations
from babelroom.bus.streams import StreamEntries, StreamsReply, captions_stream
from babelroom.captions import listeners
from babelroom.gateway.admission import admit, closing, watch_room
from babelroom.gateway.deps import close_with
from babelroom.gateway.origins import refuse_foreign_origin
from babelroom.languages import language_code

log = structlog.get_logger(__name__)
router = APIRouter()
ENDPOINT = "captions"
HEARTBEAT_S = 10


async def _heartbeat(redis: aioredis.Redis, room: str, lang: str, conn_id: str) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        await listeners.register(redis, room, lang, conn_id)


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


async def _replay(
    ws: WebSocket, redis: aioredis.Redis, stream: str, lang: str, since: int | None
) -> str:
    """Send the finals after ``since``; return the stream id to continue live from."""
    if since is None:
        last = cast(StreamEntries, await redis.xrevrange(stream, count=1))
        return last[0][0].decode() if last else "0-0"
    last_id = "0-0"
    for entry_id, fields in cast(StreamEntries, await redis.xrange(stream)):
        last_id = entry_id.decode()
        caption = Caption.from_fields(fields)
        if caption.type == "final" and caption.room_seq > since and caption.translation.language == lang:
            await _send(ws, caption)
    return last_id


async def _follow(ws: WebSocket, redis: aioredis.Redis, stream: str, lang: str, last_id: str) -> None:
    while True:
        response = cast(StreamsReply, await redis.xread({stream: last_id}, block=1000, count=100))
        for _, items in response or []:
            for entry_id, fields in items:
                last_id = entry_id.decode()
                caption = Caption.from_fields(fields)
                if caption.translation.language == lang:
                    await _send(ws, caption)


async def _until_disconnect(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/ws/rooms/{room}/captions")
async def captions_socket(ws: WebSocket, room: str) -> None:
    """Stream a room's captions in one language to a listener."""
    redis: aioredis.Redis = ws.app.state.redis
    if await refuse_foreign_origin(ws, ENDPOINT):
        return
    admitted = await admit(ws, ENDPOINT, room)
    if admitted is None:
        return
    try:
        lang = language_code(ws.query_params.get("lang"))
        since_raw = ws.query_params.get("since")
        since = int(since_raw) if since_raw is not None else None
        if since is not None and since < 0:
            raise ValueError("since must be ≥ 0")
    except ValueError as exc:
        await ws.accept(subprotocol=admitted.subprotocol)
        await close_with(ws, ENDPOINT, 4400, f"bad query: {exc}")
        return
    conn_id = uuid.uuid4().hex
    # Registered before the socket opens: once a client is connected, MT translates for it.
    await listeners.register(redis, room, lang, conn_id)
    await ws.accept(subprotocol=admitted.subprotocol)
    metrics.WS_CONNECTIONS.labels(ENDPOINT).inc()
    tasks: list[asyncio.Task] = []
    code = 1000
    try:
        stream = captions_stream(room)
        last_id = await _replay(ws, redis, stream, lang, since)
        watcher = asyncio.create_task(watch_room(ws, admitted))
        tasks = [
            asyncio.create_task(_follow(ws, redis, stream, lang, last_id)),
            asyncio.create_task(_heartbeat(redis, room, lang, conn_id)),
            asyncio.create_task(_until_disconnect(ws)),
            watcher,
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            code, reason = closing(watcher)
            await close_with(ws, ENDPOINT, code, reason)
        for task in done - {watcher}:
            if task.exception() and not isinstance(task.exception(), WebSocketDisconnect):
                log.error("captions.failed", room=room, error=repr(task.exception()))
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        # Shielded: a server shutting down cancels this handler, and the entry must still go.
        await asyncio.shield(listeners.unregister(redis, room, lang, conn_id))
        metrics.WS_CONNECTIONS.labels(ENDPOINT).dec()
        if code == 1000:
            metrics.WS_CLOSED.labels(ENDPOINT, "1000").inc()
