"""Who may open a room's sockets, and what keeps them open.

Token: an access token as the query parameter ``?token=…``, or as the WebSocket subprotocol pair
``Sec-WebSocket-Protocol: bearer, <token>`` (browsers cannot set headers on a WebSocket); with the
latter the server answers with the subprotocol ``bearer``.

Close codes (each with a reason, counted in ``babelroom_ws_closed_total``):
- 4401: no, malformed, expired or wrongly signed token;
- 4403: the user is not a present participant of this open room (never joined it, left it, or their
  lease lapsed), also sent when they leave while connected;
- 4410: the room closed (by its owner, at its tier's length, or empty).

While a socket is open, :func:`watch_room` renews the participant's lease every
:data:`RENEW_INTERVAL_S` and forwards the room's notices (``{"type": "notice", …}``) to the client.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
import structlog
from fastapi import WebSocket

from babelroom.auth.tokens import TokenError, verify
from babelroom.bus.schemas import Notice
from babelroom.bus.streams import StreamsReply, notices_stream
from babelroom.gateway.deps import close_with
from babelroom.rooms import notices
from babelroom.rooms.manager import RoomManager

log = structlog.get_logger(__name__)
SUBPROTOCOL = "bearer"
RENEW_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Admitted:
    """An authenticated participant of the socket's room."""

    room: str
    user_id: uuid.UUID
    subprotocol: str | None
    notices_from: str


def _token(ws: WebSocket) -> tuple[str | None, str | None]:
    """The token and the subprotocol to answer with."""
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL in offered:
        rest = [p for p in offered if p != SUBPROTOCOL]
        return (rest[0] if rest else None), SUBPROTOCOL
    return ws.query_params.get("token"), None


async def admit(ws: WebSocket, endpoint: str, room: str) -> Admitted | None:
    """Check the socket's token and the user's place in ``room``; on refusal accept, close with
    4401/4403 and a reason, and return None. On success the caller accepts (with ``subprotocol``)."""
    token, subprotocol = _token(ws)
    settings = ws.app.state.settings
    try:
        claims = verify(settings, token, "access")
    except TokenError as exc:
        await ws.accept(subprotocol=subprotocol)
        await close_with(ws, endpoint, 4401, f"unauthorized: {exc}")
        return None
    manager: RoomManager = ws.app.state.rooms
    try:
        room_id = uuid.UUID(room)
    except ValueError:
        room_id = None
    if room_id is not None:
        async with ws.app.state.db.session() as session:
            admitted = await manager.admitted(session, room_id, claims.user_id)
    if room_id is None or not admitted:
        await ws.accept(subprotocol=subprotocol)
        await close_with(ws, endpoint, 4403, "not admitted: join the room first (POST /api/rooms/{id}/join)")
        return None
    return Admitted(room, claims.user_id, subprotocol, await notices.latest_id(ws.app.state.redis, room))


async def watch_room(ws: WebSocket, admitted: Admitted) -> tuple[int, str]:
    """Renew the lease and forward notices until the socket must close; returns (code, reason)."""
    redis: aioredis.Redis = ws.app.state.redis
    manager: RoomManager = ws.app.state.rooms
    stream, last_id = notices_stream(admitted.room), admitted.notices_from
    me = str(admitted.user_id)
    loop = asyncio.get_running_loop()
    renew_at = loop.time()
    while True:
        if loop.time() >= renew_at:
            if not await manager.heartbeat(uuid.UUID(admitted.room), admitted.user_id):
                return 4403, "not admitted: your place in the room lapsed"
            renew_at = loop.time() + RENEW_INTERVAL_S
        response = cast(StreamsReply, await redis.xread({stream: last_id}, block=1000, count=20))
        for _, items in response or []:
            for entry_id, fields in items:
                last_id = entry_id.decode()
                notice = Notice.from_fields(fields)
                if notice.code == "participant_left" and notice.user != me:
                    continue
                await ws.send_text(notice.model_dump_json())
                if notice.code == "room_closed":
                    return 4410, f"room closed ({notice.reason})"
                if notice.code == "participant_left":
                    return 4403, f"not admitted: you left the room ({notice.reason})"


def closing(watcher: asyncio.Task[tuple[int, str]]) -> tuple[int, str]:
    """The close code and reason a finished :func:`watch_room` asks for (1011 if it failed)."""
    if watcher.exception() is not None:
        log.error("socket.watch_failed", error=repr(watcher.exception()))
        return 1011, "internal error"
    return watcher.result()
