"""An asyncio client of Janus's HTTP API (httpx), and of the VideoRoom plugin's admin requests.

Janus's HTTP API: ``POST {url}`` creates a session, ``POST {url}/{session}`` attaches a plugin or
sends a keepalive, ``POST {url}/{session}/{handle}`` sends a plugin message, ``GET {url}/{session}``
long-polls the session's events. Every request carries a ``transaction`` and, when Janus has an
``api_secret``, ``apisecret``. VideoRoom admin requests (``create``, ``destroy``, ``allowed``,
``listparticipants``, ``rtp_forward`` …) are synchronous: their answer is in the HTTP response.

Errors: Janus's own (``{"janus": "error", "error": {"code", "reason"}}``, e.g. 403 wrong api secret,
458 no such session) and the plugin's (``{"error_code", "error"}`` in the plugin data, e.g. 426 no
such room, 427 room exists, 428 no such feed, 429 missing element, 433 unauthorized) are both raised
as :class:`JanusError` with that code and reason.

Sources: Janus HTTP/REST API, https://janus.conf.meetecho.com/docs/rest.html; VideoRoom API (the
plugin's documentation, janus_videoroom.c, Janus 1.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)
VIDEOROOM = "janus.plugin.videoroom"

# Janus core error codes (janus/apierror.h) and VideoRoom plugin ones (janus_videoroom.c).
UNAUTHORIZED = 403
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
MISSING_ELEMENT = 429
INVALID_ELEMENT = 430
NOT_AUTHORIZED = 433

RoomId = str | int
ParticipantId = str | int


class JanusError(Exception):
    """Janus (or its VideoRoom plugin) refused a request.

    Attributes:
        code: Janus's numeric error code (see the constants of this module).
        reason: Janus's text.
        request: what was asked (``create``, ``attach``, ``rtp_forward`` …).
    """

    def __init__(self, code: int, reason: str, request: str = "") -> None:
        super().__init__(f"janus {request or 'request'} failed: {code} {reason}")
        self.code, self.reason, self.request = code, reason, request


class JanusClient:
    """The HTTP transport of one Janus instance.

    Args:
        url: the API base, e.g. ``http://127.0.0.1:8088/janus``.
        api_secret: Janus's ``api_secret``, if it has one.
        timeout_s: per request (long polls add their own wait).
        http: an ``httpx.AsyncClient`` to use instead of a new one (it is not closed here).
    """

    def __init__(self, url: str, *, api_secret: str | None = None, timeout_s: float = 10.0,
                 http: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self._own = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout_s)

    async def aclose(self) -> None:
        if self._own:
            await self.http.aclose()

    async def __aenter__(self) -> JanusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def info(self) -> dict[str, Any]:
        """``GET /info``: version, loaded plugins and transports (needs no secret)."""
        resp = await self.http.get(f"{self.url}/info")
        resp.raise_for_status()
        return resp.json()

    async def post(self, path: str, body: dict[str, Any], request: str = "") -> dict[str, Any]:
        """POST one API message (transaction and secret added); the reply, or :class:`JanusError`.

        Raises:
            JanusError: Janus answered ``error``.
            httpx.HTTPError: Janus could not be reached.
        """
        message = {**body, "transaction": secrets.token_hex(8)}
        if self.api_secret:
            message["apisecret"] = self.api_secret
        resp = await self.http.post(f"{self.url}{path}", json=message)
        reply = resp.json()
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")), request or body["janus"])
        return reply

    async def create_session(self) -> JanusSession:
        """A new session (kept alive by :meth:`JanusSession.start_keepalive` or by polling)."""
        reply = await self.post("", {"janus": "create"}, "create")
        return JanusSession(self, int(reply["data"]["id"]))


class JanusSession:
    """A Janus session: attaches plugin handles, is kept alive, and can long-poll its events."""

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client, self.id = client, session_id
        self._keepalive: asyncio.Task[None] | None = None

    async def attach(self, plugin: str = VIDEOROOM) -> JanusHandle:
        reply = await self.client.post(f"/{self.id}", {"janus": "attach", "plugin": plugin}, "attach")
        return JanusHandle(self, int(reply["data"]["id"]))

    async def keepalive(self) -> None:
        await self.client.post(f"/{self.id}", {"janus": "keepalive"}, "keepalive")

    def start_keepalive(self, interval_s: float = 25.0) -> None:
        """Send a keepalive every ``interval_s`` (Janus drops a session silent for 60 s)."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await self.keepalive()
                except (JanusError, httpx.HTTPError) as exc:
                    log.warning("janus.keepalive_failed", session=self.id, error=repr(exc))

        if self._keepalive is None:
            self._keepalive = asyncio.create_task(loop())

    async def events(self, max_events: int = 10) -> list[dict[str, Any]]:
        """Long-poll: the session's next events (Janus answers after at most 30 s, maybe with a
        ``keepalive`` only, which is left out)."""
        resp = await self.client.http.get(
            f"{self.client.url}/{self.id}",
            params={"maxev": max_events, **({"apisecret": self.client.api_secret} if self.client.api_secret else {})},
            timeout=40.0,
        )
        reply = resp.json()
        batch = reply if isinstance(reply, list) else [reply]
        for event in batch:
            if event.get("janus") == "error":
                error = event.get("error", {})
                raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")), "events")
        return [e for e in batch if e.get("janus") != "keepalive"]

    async def destroy(self) -> None:
        """Stop the keepalive and destroy the session (its handles go with it)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
            self._keepalive = None
        with contextlib.suppress(JanusError, httpx.HTTPError):
            await self.client.post(f"/{self.id}", {"janus": "destroy"}, "destroy")


class JanusHandle:
    """A plugin handle inside a session."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session, self.id = session, handle_id

    async def message(self, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a plugin message. A synchronous request returns the plugin's answer (``plugindata.data``);
        an asynchronous one returns ``{}`` (its result comes as an event, see ``events``).

        Raises:
            JanusError: a core error, or the plugin's ``error_code``.
        """
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        request = str(body.get("request", "message"))
        reply = await self.session.client.post(f"/{self.session.id}/{self.id}", message, request)
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error", "")), request)
        return data

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Send one ICE candidate, or ``None`` for end-of-candidates."""
        body = {"janus": "trickle", "candidate": candidate if candidate is not None else {"completed": True}}
        await self.session.client.post(f"/{self.session.id}/{self.id}", body, "trickle")

    async def detach(self) -> None:
        with contextlib.suppress(JanusError, httpx.HTTPError):
            await self.session.client.post(f"/{self.session.id}/{self.id}", {"janus": "detach"}, "detach")


class VideoRoomAdmin:
    """The VideoRoom admin requests the room manager needs, over one long-lived session.

    The session and handle are made on first use and made again if Janus lost them (a Janus
    restart, or a session timed out): a request that fails with 458/459 is retried once.

    Args:
        client: the Janus HTTP client.
        admin_key: the plugin's ``admin_key`` (room creation, RTP forwarding).
    """

    def __init__(self, client: JanusClient, *, admin_key: str | None = None) -> None:
        self.client = client
        self.admin_key = admin_key
        self._session: JanusSession | None = None
        self._handle: JanusHandle | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Destroy the session (rooms stay: they belong to the plugin, not to the session)."""
        if self._session is not None:
            await self._session.destroy()
        self._session = self._handle = None

    async def _ensure(self) -> JanusHandle:
        async with self._lock:
            if self._handle is None:
                session = await self.client.create_session()
                session.start_keepalive()
                self._session, self._handle = session, await session.attach(VIDEOROOM)
            return self._handle

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """One synchronous VideoRoom request; :class:`JanusError` on refusal."""
        handle = await self._ensure()
        try:
            return await handle.message(body)
        except JanusError as exc:
            if exc.code not in (SESSION_NOT_FOUND, HANDLE_NOT_FOUND):
                raise
            log.info("janus.session_lost", code=exc.code)
            lost, self._session, self._handle = self._session, None, None
            if lost is not None:
                await lost.destroy()  # stops its keepalive, which would fail every 25 s for ever
            return await (await self._ensure()).message(body)

    def _admin(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "admin_key": self.admin_key} if self.admin_key else body

    # --- rooms ---

    async def create_room(
        self,
        room: RoomId,
        *,
        secret: str,
        publishers: int,
        bitrate_bps: int,
        allowed: list[str] | None = None,
        description: str | None = None,
        audiocodec: str = "opus",
        videocodec: str = "vp8,h264",
        is_private: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """``create``: a room with a ``secret`` (needed to edit or destroy it), ``publishers`` and
        ``bitrate`` caps (``bitrate_cap``: publishers cannot raise it) and, when ``allowed`` is given,
        a join-token ACL (``[]``: nobody may join until tokens are added).

        Raises:
            JanusError: 427 the room exists; 429/433 a missing or wrong ``admin_key``.
        """
        body: dict[str, Any] = dict(
            request="create", room=room, secret=secret, publishers=publishers, bitrate=bitrate_bps,
            bitrate_cap=True, audiocodec=audiocodec, videocodec=videocodec, is_private=is_private,
            opus_fec=True, permanent=False, **extra,
        )
        if description:
            body["description"] = description
        if allowed is not None:
            body["allowed"] = list(allowed)
        return await self.request(self._admin(body))

    async def edit_room(self, room: RoomId, *, secret: str, publishers: int | None = None,
                        bitrate_bps: int | None = None) -> dict[str, Any]:
        """``edit``: new caps for a live room (new publishers only are held to a new bitrate)."""
        body: dict[str, Any] = dict(request="edit", room=room, secret=secret)
        if publishers is not None:
            body["new_publishers"] = publishers
        if bitrate_bps is not None:
            body["new_bitrate"] = bitrate_bps
        return await self.request(body)

    async def destroy_room(self, room: RoomId, *, secret: str) -> dict[str, Any]:
        """``destroy``: every participant is kicked. Raises JanusError 426 if there is no such room."""
        return await self.request(dict(request="destroy", room=room, secret=secret, permanent=False))

    async def exists(self, room: RoomId) -> bool:
        return bool((await self.request(dict(request="exists", room=room)))["exists"])

    async def list_rooms(self) -> list[dict[str, Any]]:
        """Every room, private ones included when the ``admin_key`` is set."""
        return (await self.request(self._admin(dict(request="list"))))["list"]

    async def allowed(self, room: RoomId, *, secret: str, action: str, tokens: list[str] | None = None) -> list[str]:
        """``allowed``: ``action`` ``add``/``remove`` ``tokens``, or ``enable``/``disable`` the ACL.
        Returns the complete list of allowed tokens after the change."""
        body: dict[str, Any] = dict(request="allowed", room=room, secret=secret, action=action)
        if tokens is not None:
            body["allowed"] = list(tokens)
        return list((await self.request(body)).get("allowed", []))

    async def list_participants(self, room: RoomId) -> list[dict[str, Any]]:
        """``listparticipants``: ``[{"id", "display", "publisher", "talking"?}]``."""
        return (await self.request(dict(request="listparticipants", room=room)))["participants"]

    async def kick(self, room: RoomId, *, secret: str, participant: ParticipantId) -> None:
        await self.request(dict(request="kick", room=room, secret=secret, id=participant))

    # --- RTP forwarding ---

    async def rtp_forward_audio(
        self,
        room: RoomId,
        publisher_id: ParticipantId,
        *,
        host: str,
        port: int,
        ssrc: int,
        secret: str | None = None,
        pt: int = 111,
        mid: str | None = None,
    ) -> int:
        """``rtp_forward`` of a publisher's audio to ``host:port`` as plain RTP stamped with ``ssrc``;
        returns the forwarder's ``stream_id``. With ``mid`` (the publisher's audio m-line, which the
        web client knows once it published) this is Janus 1.x's ``streams`` form; without, the older
        ``audio_port`` form, which Janus 1.1 still takes (flagged ``deprecated_api``) and applies to
        the publisher's first audio stream.

        Raises:
            JanusError: 426 no such room; 428 no such publisher (or it publishes no audio yet).
        """
        body: dict[str, Any] = dict(request="rtp_forward", room=room, publisher_id=publisher_id, host=host)
        if secret:
            body["secret"] = secret
        if mid is None:
            body.update(audio_port=port, audio_ssrc=ssrc, audio_pt=pt)
        else:
            body["streams"] = [dict(mid=mid, port=port, ssrc=ssrc, pt=pt)]
        data = await self.request(self._admin(body))
        if "rtp_stream" in data:  # the reply to the audio_port form (Janus 1.x: "deprecated_api")
            ids = [data["rtp_stream"].get("audio_stream_id")]
        else:
            ids = [f.get("stream_id") for f in data.get("forwarders", []) if f.get("type") == "audio"]
        if not ids or ids[0] is None:  # Janus says success but made no forwarder
            raise JanusError(NO_SUCH_FEED, "the publisher has no audio stream to forward", "rtp_forward")
        return int(ids[0])

    async def stop_rtp_forward(self, room: RoomId, publisher_id: ParticipantId, stream_id: int,
                               *, secret: str | None = None) -> None:
        """``stop_rtp_forward``. Raises JanusError (426, 428, or 430 no such forwarder)."""
        body: dict[str, Any] = dict(request="stop_rtp_forward", room=room, publisher_id=publisher_id,
                                    stream_id=stream_id)
        if secret:
            body["secret"] = secret
        await self.request(self._admin(body))

    async def list_forwarders(self, room: RoomId, *, secret: str) -> list[dict[str, Any]]:
        """``listforwarders``: ``[{"publisher_id", "forwarders": [{"stream_id", "type", "port", "ssrc" …}]}]``."""
        return (await self.request(self._admin(dict(request="listforwarders", room=room, secret=secret))))["publishers"]
