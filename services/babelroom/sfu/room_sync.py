"""Keeps Janus's VideoRoom rooms and audio taps in step with our rooms: the room manager's API.

The room manager calls:

- :meth:`RoomSync.open_room` when a room opens: a Janus room of the same id (the stack runs the
  VideoRoom with ``string_ids``), with a secret derived from the server key, the tier's caps
  (``publishers``, ``bitrate``), Opus audio, VP8/H.264 video and a join-token ACL;
- :meth:`RoomSync.admit` / :meth:`RoomSync.revoke` as users are let in or out: each admitted user
  gets a token (:meth:`RoomSync.new_join_token`) to pass in the VideoRoom ``join``;
- :meth:`RoomSync.start_audio_tap` when a participant publishes, :meth:`RoomSync.stop_audio_tap` when
  they stop or leave: the SSRC is registered for the media service first, then Janus forwards that
  publisher's audio (RTP/Opus) to ``media_advertise_host:media_rtp_port`` with that SSRC;
- :meth:`RoomSync.sync_publishers` periodically (every few seconds) to catch what events missed:
  it starts taps for publishers that have none and stops taps whose publisher is gone, whose
  forwarder is gone (the publisher came back under the same id) or whose speaker changed language or
  name (a new tap follows in the same round);
- :meth:`RoomSync.close_room` when the room closes: taps stopped, Janus room destroyed.

After a Janus restart the rooms are gone: the call sync (:mod:`babelroom.sfu.calls`) opens them again
and :meth:`RoomSync.open_room` drops the dead taps; clients rejoin with the tokens they have.

Every method is idempotent, so a retry after a crash or a timeout is safe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog

from babelroom.config import Settings
from babelroom.media.forwards import Forward, ForwardRegistry
from babelroom.sfu.janus_client import (
    HANDLE_NOT_FOUND,
    INVALID_ELEMENT,
    NO_SUCH_FEED,
    NO_SUCH_ROOM,
    ROOM_EXISTS,
    JanusClient,
    JanusError,
    ParticipantId,
    VideoRoomAdmin,
)

log = structlog.get_logger(__name__)
_GONE = {NO_SUCH_ROOM, NO_SUCH_FEED, INVALID_ELEMENT, HANDLE_NOT_FOUND}


@dataclass(frozen=True)
class Speaker:
    """Who a Janus publisher is for the pipeline (as on the audio WebSocket's header)."""

    participant: str
    name: str
    language: str


@dataclass
class SyncResult:
    """What :meth:`RoomSync.sync_publishers` changed."""

    started: list[Forward] = field(default_factory=list)
    stopped: list[Forward] = field(default_factory=list)


class RoomSync:
    """Janus rooms and audio taps for our rooms.

    Args:
        admin: VideoRoom admin client.
        registry: the SSRC registry the media service reads.
        media_host, media_port: where Janus sends the RTP (the media service, as Janus reaches it).
        secret_key: key from which each room's Janus secret is derived (HMAC-SHA256), so that no
            secret needs storing.
    """

    def __init__(self, admin: VideoRoomAdmin, registry: ForwardRegistry, *, media_host: str,
                 media_port: int, secret_key: str) -> None:
        self.admin = admin
        self.registry = registry
        self.media_host, self.media_port = media_host, media_port
        self._key = secret_key.encode()

    @classmethod
    def from_settings(cls, settings: Settings, redis: aioredis.Redis,
                      client: JanusClient | None = None) -> RoomSync:
        """A RoomSync on ``settings.janus_url`` (or ``client``) with the settings' secrets."""
        client = client or JanusClient(settings.janus_url, api_secret=settings.janus_api_secret,
                                       timeout_s=settings.janus_timeout_s)
        return cls(
            VideoRoomAdmin(client, admin_key=settings.janus_admin_key),
            ForwardRegistry(redis),
            media_host=settings.media_advertise_host,
            media_port=settings.media_rtp_port,
            secret_key=settings.janus_admin_key or settings.jwt_secret,
        )

    async def close(self) -> None:
        """Drop the Janus session (rooms and forwards stay)."""
        await self.admin.close()
        await self.admin.client.aclose()

    def room_secret(self, room: str) -> str:
        """The Janus ``secret`` of ``room``: HMAC-SHA256(secret_key, room), hex."""
        return hmac.new(self._key, f"janus-room:{room}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def new_join_token() -> str:
        """A fresh unguessable token to admit one user (pass it to :meth:`admit`, give it to them)."""
        return secrets.token_urlsafe(24)

    # --- rooms ---

    async def open_room(self, room: str, *, max_publishers: int, bitrate_bps: int,
                        tokens: Iterable[str] = (), description: str | None = None) -> None:
        """Create the Janus room (or, if it exists, apply the caps and add ``tokens``).

        A room that had to be created has no forwarders: taps still registered for it (they died
        with a restarted Janus) are dropped, so that :meth:`sync_publishers` starts new ones."""
        secret = self.room_secret(room)
        try:
            await self.admin.create_room(room, secret=secret, publishers=max_publishers,
                                         bitrate_bps=bitrate_bps, allowed=list(tokens),
                                         description=description)
            log.info("sfu.room_created", room=room, publishers=max_publishers, bitrate=bitrate_bps)
            for forward in await self.taps(room):
                await self.registry.remove(forward.ssrc)
                log.info("sfu.stale_tap_dropped", room=room, publisher=forward.publisher_id, ssrc=forward.ssrc)
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise
            await self.admin.edit_room(room, secret=secret, publishers=max_publishers, bitrate_bps=bitrate_bps)
            if tokens:
                await self.admit(room, tokens)

    async def close_room(self, room: str) -> list[Forward]:
        """Stop every tap of ``room`` and destroy its Janus room (no error if already gone)."""
        stopped = [f for f in await self.registry.all() if f.room == room]
        for forward in stopped:
            await self._stop(forward)
        try:
            await self.admin.destroy_room(room, secret=self.room_secret(room))
            log.info("sfu.room_destroyed", room=room)
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise
        return stopped

    async def admit(self, room: str, tokens: Iterable[str]) -> list[str]:
        """Allow ``tokens`` to join; returns every allowed token."""
        return await self.admin.allowed(room, secret=self.room_secret(room), action="add", tokens=list(tokens))

    async def revoke(self, room: str, tokens: Iterable[str], *, kick: ParticipantId | None = None) -> list[str]:
        """Disallow ``tokens``; with ``kick``, also remove that participant (and stop its tap)."""
        allowed = await self.admin.allowed(room, secret=self.room_secret(room), action="remove", tokens=list(tokens))
        if kick is not None:
            await self.stop_audio_tap(room, kick)
            try:
                await self.admin.kick(room, secret=self.room_secret(room), participant=kick)
            except JanusError as exc:
                if exc.code not in _GONE:
                    raise
        return allowed

    # --- audio taps ---

    async def taps(self, room: str) -> list[Forward]:
        """The audio taps of ``room``."""
        return [f for f in await self.registry.all() if f.room == room]

    async def start_audio_tap(self, room: str, publisher_id: ParticipantId, speaker: Speaker,
                              *, mid: str | None = None) -> Forward:
        """Forward ``publisher_id``'s audio to the media service as ``speaker``; returns the tap (the
        existing one if there is one).

        Raises:
            JanusError: 426 no such room, 428 no such publisher (or no audio published yet): the
                registration is undone.
        """
        for forward in await self.taps(room):
            if forward.publisher_id == publisher_id:
                return forward
        forward = await self.registry.register(
            room=room, participant=speaker.participant, name=speaker.name, language=speaker.language,
            janus_room=room, publisher_id=publisher_id,
        )
        try:
            stream_id = await self.admin.rtp_forward_audio(
                room, publisher_id, host=self.media_host, port=self.media_port, ssrc=forward.ssrc,
                secret=self.room_secret(room), mid=mid,
            )
        except BaseException:
            await self.registry.remove(forward.ssrc)
            raise
        forward.stream_id = stream_id
        await self.registry.update(forward)
        log.info("sfu.tap_started", room=room, publisher=publisher_id, ssrc=forward.ssrc, stream_id=stream_id)
        return forward

    async def stop_audio_tap(self, room: str, publisher_id: ParticipantId) -> list[Forward]:
        """Stop forwarding ``publisher_id``'s audio; the media service flushes its last segment."""
        stopped = [f for f in await self.taps(room) if f.publisher_id == publisher_id]
        for forward in stopped:
            await self._stop(forward)
        return stopped

    async def sync_publishers(self, room: str, speakers: Mapping[str, Speaker]) -> SyncResult:
        """Make the taps match Janus's active publishers and who they are: start one for each active
        publisher found in ``speakers`` (publisher id → who it is); stop those whose publisher is no
        longer active, whose forwarder Janus no longer holds (the publisher left and came back under
        the same id between two rounds: a client reconnecting its call), or whose speaker's name or
        language changed (the participant joined again with another ``spoken_language``). An active
        publisher whose tap was stopped gets a new one in the same round."""
        result = SyncResult()
        participants = await self.admin.list_participants(room)
        active = {p["id"] for p in participants if p.get("publisher")}
        taps = await self.taps(room)
        live = await self._live_forwarders(room) if taps else set()
        for forward in taps:
            speaker = speakers.get(str(forward.publisher_id))
            relabelled = speaker is not None and (speaker.name, speaker.language) != (forward.name, forward.language)
            if (forward.publisher_id not in active or relabelled
                    or (str(forward.publisher_id), forward.stream_id) not in live):
                await self._stop(forward)
                result.stopped.append(forward)
        tapped = {f.publisher_id for f in await self.taps(room)}
        for publisher_id in active - tapped:
            speaker = speakers.get(publisher_id)
            if speaker is None:
                continue
            try:
                result.started.append(await self.start_audio_tap(room, publisher_id, speaker))
            except JanusError as exc:  # left between the list and the forward
                if exc.code not in _GONE:
                    raise
        return result

    async def _live_forwarders(self, room: str) -> set[tuple[str, int]]:
        """(publisher id, stream id) of every RTP forwarder Janus holds in ``room``."""
        return {(str(p["publisher_id"]), f["stream_id"])
                for p in await self.admin.list_forwarders(room, secret=self.room_secret(room))
                for f in p.get("forwarders", [])}

    async def _stop(self, forward: Forward) -> None:
        if forward.stream_id is not None and forward.publisher_id is not None:
            try:
                await self.admin.stop_rtp_forward(forward.janus_room or forward.room, forward.publisher_id,
                                                  forward.stream_id, secret=self.room_secret(forward.room))
            except JanusError as exc:  # the publisher left: Janus already dropped its forwarders
                if exc.code not in _GONE:
                    raise
        await self.registry.remove(forward.ssrc)
        log.info("sfu.tap_stopped", room=forward.room, publisher=forward.publisher_id, ssrc=forward.ssrc)
