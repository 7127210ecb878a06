"""Who may open a room's sockets, how many, and what keeps them open.

Token: an access token as the query parameter ``?token=…``, or as the WebSocket subprotocol pair
``Sec-WebSocket-Protocol: bearer, <token>`` (browsers cannot set headers on a WebSocket); with the
latter the server answers with the subprotocol ``bearer``.

Close codes (each with a reason, counted in ``babelroom_ws_closed_total``):
- 4401: no, malformed, expired or wrongly signed token;
- 4403: the user is not a present participant of this open room (never joined it, left it, or their
  lease lapsed), also sent when they leave while connected;
- 4410: the room closed (by its owner, at its tier's length, or empty);
- 4429: a socket cap is reached: ``ws_max_sockets_per_user`` or ``ws_max_sockets_per_room`` open
  sockets on this gateway (counted in ``babelroom_ws_limited_total``);
- 1013: PostgreSQL or Redis is unreachable (the reason names which; counted in
  ``babelroom_dependency_unavailable_total``): reconnect with back-off.

While a socket is open, :func:`watch_room` renews the participant's lease every
:data:`RENEW_INTERVAL_S` and forwards what the room's feed (:mod:`babelroom.gateway.room_feed`)
brings: notices (``{"type": "notice", …}``) and, on caption sockets, captions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import WebSocket
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from babelroom import metrics
from babelroom.api.errors import unavailable_dependency
from babelroom.auth.tokens import TokenError, verify
from babelroom.bus.schemas import Caption, SpeechAudio
from babelroom.config import Settings
from babelroom.gateway.deps import close_unavailable, close_with, unavailable_close
from babelroom.gateway.room_feed import Ended, Subscription
from babelroom.rooms.manager import RoomManager

log = structlog.get_logger(__name__)
SUBPROTOCOL = "bearer"
RENEW_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Admitted:
    """An authenticated participant of the socket's room: ``speaker`` holds a speaking slot (not
    listen-only); ``display_name`` is the account's."""

    room: str
    user_id: uuid.UUID
    subprotocol: str | None
    speaker: bool
    display_name: str


class SocketCaps:
    """This gateway's open sockets per user and per room, against ``ws_max_sockets_per_user`` and
    ``ws_max_sockets_per_room``."""

    def __init__(self, settings: Settings) -> None:
        self.per_user, self.per_room = settings.ws_max_sockets_per_user, settings.ws_max_sockets_per_room
        self.users: Counter[uuid.UUID] = Counter()
        self.rooms: Counter[str] = Counter()

    def claim(self, room: str, user: uuid.UUID) -> str | None:
        """Count one more socket; returns the name of the cap it would break instead (nothing counted)."""
        if self.users[user] >= self.per_user:
            return "per_user"
        if self.rooms[room] >= self.per_room:
            return "per_room"
        self.users[user] += 1
        self.rooms[room] += 1
        return None

    def release(self, room: str, user: uuid.UUID) -> None:
        """Uncount a socket counted by :meth:`claim`."""
        self.users[user] -= 1
        self.rooms[room] -= 1
        self.users += Counter()  # drops the zeros
        self.rooms += Counter()


def _token(ws: WebSocket) -> tuple[str | None, str | None]:
    """The token and the subprotocol to answer with."""
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL in offered:
        rest = [p for p in offered if p != SUBPROTOCOL]
        return (rest[0] if rest else None), SUBPROTOCOL
    return ws.query_params.get("token"), None


async def _admit(ws: WebSocket, endpoint: str, room: str, subprotocol: str | None,
                 token: str | None) -> Admitted | tuple[int, str]:
    try:
        claims = verify(ws.app.state.settings, token, "access")
    except TokenError as exc:
        return 4401, f"unauthorized: {exc}"
    manager: RoomManager = ws.app.state.rooms
    try:
        room_id = uuid.UUID(room)
    except ValueError:
        room_id = None
    participant = None
    if room_id is not None:
        async with ws.app.state.db.session() as session:
            participant = await manager.presence(session, room_id, claims.user_id)
    if participant is None:
        return 4403, "not admitted: join the room first (POST /api/rooms/{id}/join)"
    return Admitted(room, claims.user_id, subprotocol, participant.speaker, participant.user.display_name)


@asynccontextmanager
async def admitted_socket(ws: WebSocket, endpoint: str, room: str) -> AsyncIterator[Admitted | None]:
    """Check the socket's token, the user's place in ``room`` and the socket caps.

    Yields the :class:`Admitted` participant (the caller accepts with ``subprotocol``), or None after
    accepting and closing the socket with 4401, 4403, 4429 or 1013 and a reason. The socket counts
    against the caps until the block ends.
    """
    token, subprotocol = _token(ws)
    try:
        verdict = await _admit(ws, endpoint, room, subprotocol, token)
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is None:
            raise
        await ws.accept(subprotocol=subprotocol)
        await close_unavailable(ws, endpoint, dependency)
        yield None
        return
    if not isinstance(verdict, Admitted):
        await ws.accept(subprotocol=subprotocol)
        await close_with(ws, endpoint, *verdict)
        yield None
        return
    caps: SocketCaps = ws.app.state.socket_caps
    broken = caps.claim(room, verdict.user_id)
    if broken is not None:
        metrics.WS_LIMITED.labels(endpoint, broken).inc()
        limit = caps.per_user if broken == "per_user" else caps.per_room
        what = "you have" if broken == "per_user" else "this room has"
        await ws.accept(subprotocol=subprotocol)
        await close_with(ws, endpoint, 4429, f"too many sockets: {what} {limit} open on this server")
        yield None
        return
    try:
        yield verdict
    finally:
        caps.release(room, verdict.user_id)


async def watch_room(
    ws: WebSocket, admitted: Admitted, subscription: Subscription, *,
    on_caption: Callable[[str, Caption], Awaitable[None]] | None = None,
    on_speech: Callable[[SpeechAudio], Awaitable[None]] | None = None,
    on_renew: Callable[[], Awaitable[tuple[int, str] | None]] | None = None,
) -> tuple[int, str]:
    """Renew the lease, forward notices and hand captions to ``on_caption`` (entry id, caption) and
    spoken translations to ``on_speech`` until the socket must close; returns (code, reason).

    ``on_renew`` runs with each lease renewal; a ``(code, reason)`` it returns ends the watch. A Redis error while
    renewing is logged and retried at the next renewal (the room feed decides when an outage is too
    long). A lease Redis lost is restored from the participant's record in PostgreSQL.
    """
    manager: RoomManager = ws.app.state.rooms
    me = str(admitted.user_id)
    loop = asyncio.get_running_loop()
    renew_at = loop.time()
    while True:
        if loop.time() >= renew_at:
            renew_at = loop.time() + RENEW_INTERVAL_S
            try:
                if not await manager.heartbeat(uuid.UUID(admitted.room), admitted.user_id, ws.app.state.db):
                    return 4403, "not admitted: your place in the room lapsed"
                if on_renew is not None and (ended := await on_renew()) is not None:
                    return ended
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("socket.renew_failed", room=admitted.room, error=repr(exc))
        try:
            entry_id, message = await asyncio.wait_for(subscription.queue.get(), renew_at - loop.time())
        except TimeoutError:
            continue
        if isinstance(message, Ended):
            return message.code, message.reason
        if isinstance(message, Caption):
            if on_caption is not None:
                await on_caption(entry_id, message)
            continue
        if isinstance(message, SpeechAudio):
            if on_speech is not None:
                await on_speech(message)
            continue
        if message.code == "participant_left" and message.user != me:
            continue
        await ws.send_text(message.model_dump_json())
        if message.code == "room_closed":
            return 4410, f"room closed ({message.reason})"
        if message.code == "participant_left":
            return 4403, f"not admitted: you left the room ({message.reason})"


def closing(watcher: asyncio.Task[tuple[int, str]]) -> tuple[int, str]:
    """The close code and reason a finished :func:`watch_room` asks for (1013 when a dependency is
    unreachable, 1011 if it failed otherwise)."""
    error = watcher.exception()
    if error is None:
        return watcher.result()
    dependency = unavailable_dependency(error)
    if dependency is not None:
        metrics.DEPENDENCY_UNAVAILABLE.labels(dependency, "socket").inc()
        return unavailable_close(dependency)
    log.error("socket.watch_failed", error=repr(error))
    return 1011, "internal error"
