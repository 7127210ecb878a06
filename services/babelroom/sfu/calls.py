"""The call side of our rooms: each open room has a Janus VideoRoom, each participant a join token.

:class:`Calls` is what the room manager and the rooms API call (when ``janus_enabled``; without it
the gateway works as before, captions only, and join answers carry ``janus: null``):

- **join** (and create, whose owner joins): the Janus room is opened or updated with the room
  owner's tier caps (``participants_per_room`` publishers, the tier's bitrate cap), a fresh join
  token is admitted, and the participant (publisher id = our user id, display name, the language
  they speak) is kept in Redis (``sfu:room:{room}``). The join answer gives the browser
  :class:`JanusJoin`: Janus's URL as the browser reaches it (``janus_public_url``), the room, the
  token, the publisher id, the display name and the ICE servers (TURN with time-limited credentials,
  :mod:`babelroom.sfu.turn`);
- **leave** (or lapsed lease): the token is revoked and the participant kicked (its tap stops);
- **close** (by the owner, at expiry, when empty): taps stopped, the Janus room destroyed;
- **sync** (:func:`run_call_sync`, every ``janus_sync_interval_s`` in each gateway): Janus does not
  tell us when a publisher starts or stops, so :meth:`RoomSync.sync_publishers` runs for every open
  call with publisher id → ``Speaker(participant, name, language)`` from the Redis membership. A
  short Redis lock lets one replica do each round. A room Janus no longer has (Janus restarted) is
  created again with the caps it was opened with (``sfu:caps:{room}``) and every member's token, so
  that clients rejoin with the token they have and the next round taps them again.

A Janus that is down never fails a join: the answer has ``janus: null`` and the error is logged.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis
import structlog

from babelroom.config import Settings
from babelroom.sfu.janus_client import NO_SUCH_ROOM, JanusError
from babelroom.sfu.room_sync import RoomSync, Speaker
from babelroom.sfu.turn import IceServer, ice_servers

log = structlog.get_logger(__name__)
ROOMS_KEY = "sfu:rooms"
SYNC_LOCK = "sfu:sync-lock"
_FAILURES = (JanusError, httpx.HTTPError, OSError, asyncio.TimeoutError)


def members_key(room: str) -> str:
    return f"sfu:room:{room}"


def caps_key(room: str) -> str:
    return f"sfu:caps:{room}"


@dataclass(frozen=True)
class JanusJoin:
    """What the browser needs to enter the room's Janus VideoRoom."""

    server: str
    room: str
    token: str
    id: str
    display: str
    ice_servers: list[IceServer]


class Calls:
    """Janus rooms and join tokens for our rooms (see the module docstring)."""

    def __init__(self, settings: Settings, redis: aioredis.Redis, sync: RoomSync) -> None:
        self.settings, self.redis, self.sync = settings, redis, sync

    @classmethod
    def from_settings(cls, settings: Settings, redis: aioredis.Redis) -> Calls | None:
        """Calls on the settings' Janus, or None when ``janus_enabled`` is off."""
        if not settings.janus_enabled:
            return None
        return cls(settings, redis, RoomSync.from_settings(settings, redis))

    async def close(self) -> None:
        await self.sync.close()

    def bitrate_bps(self, tier: str) -> int:
        return self.settings.janus_tier_bitrate_bps.get(tier, self.settings.janus_bitrate_bps)

    async def joined(self, room: str, *, participant: str, name: str, language: str,
                     max_publishers: int | None, tier: str) -> JanusJoin | None:
        """Open/update the Janus room, admit a fresh token for ``participant``; None if Janus failed."""
        old = await self.redis.hget(members_key(room), participant)
        token = self.sync.new_join_token()
        caps = {"publishers": max_publishers or 100, "bitrate_bps": self.bitrate_bps(tier)}
        await self.redis.set(caps_key(room), json.dumps(caps))
        try:
            await self.sync.open_room(room, max_publishers=caps["publishers"], bitrate_bps=caps["bitrate_bps"],
                                      tokens=[token])
            if old is not None:
                await self.sync.revoke(room, [json.loads(old)["token"]])
        except _FAILURES as exc:
            log.warning("sfu.join_failed", room=room, participant=participant, error=str(exc))
            return None
        member = {"token": token, "name": name, "language": language}
        await self.redis.hset(members_key(room), participant, json.dumps(member))
        await self.redis.sadd(ROOMS_KEY, room)
        return JanusJoin(server=self.settings.janus_public_url or self.settings.janus_url, room=room,
                         token=token, id=participant, display=name,
                         ice_servers=ice_servers(self.settings, participant))

    async def left(self, room: str, participant: str) -> None:
        """Revoke ``participant``'s token, kick them and stop their tap (failures are logged)."""
        raw = await self.redis.hget(members_key(room), participant)
        await self.redis.hdel(members_key(room), participant)
        if raw is None:
            return
        try:
            await self.sync.revoke(room, [json.loads(raw)["token"]], kick=participant)
        except _FAILURES as exc:
            log.warning("sfu.leave_failed", room=room, participant=participant, error=str(exc))

    async def closed(self, room: str) -> None:
        """Stop the room's taps and destroy its Janus room (failures are logged)."""
        await self.redis.srem(ROOMS_KEY, room)
        await self.redis.delete(members_key(room), caps_key(room))
        try:
            await self.sync.close_room(room)
        except _FAILURES as exc:
            log.warning("sfu.close_failed", room=room, error=str(exc))

    async def speakers(self, room: str) -> dict[str, Speaker]:
        """Publisher id → who it is, from the room's membership."""
        raw = await self.redis.hgetall(members_key(room))
        out: dict[str, Speaker] = {}
        for key, value in raw.items():
            participant = key.decode() if isinstance(key, bytes) else key
            member = json.loads(value)
            out[participant] = Speaker(participant, member["name"], member["language"])
        return out

    async def reopen(self, room: str) -> None:
        """Create ``room`` again in a Janus that lost it (restarted): its stored caps, every member's
        token admitted; the taps of the old room are dropped (:meth:`RoomSync.open_room`)."""
        caps = json.loads(await self.redis.get(caps_key(room)) or "{}")
        members = await self.redis.hgetall(members_key(room))
        await self.sync.open_room(room, max_publishers=caps.get("publishers", 100),
                                  bitrate_bps=caps.get("bitrate_bps", self.settings.janus_bitrate_bps),
                                  tokens=[json.loads(m)["token"] for m in members.values()])
        log.warning("sfu.room_reopened", room=room, members=len(members))

    async def sync_once(self) -> dict[str, object]:
        """One round of :meth:`RoomSync.sync_publishers` over every open call (unless another
        replica holds this round's lock); returns what changed by room."""
        if not await self.redis.set(SYNC_LOCK, "1", nx=True,
                                    px=max(100, int(self.settings.janus_sync_interval_s * 900))):
            return {}
        changed: dict[str, object] = {}
        for raw in await self.redis.smembers(ROOMS_KEY):
            room = raw.decode() if isinstance(raw, bytes) else raw
            try:
                result = await self.sync.sync_publishers(room, await self.speakers(room))
            except JanusError as exc:
                if exc.code != NO_SUCH_ROOM:
                    log.warning("sfu.sync_failed", room=room, error=str(exc))
                    continue
                await self.reopen(room)
                changed[room] = {"reopened": True}
                continue
            if result.started or result.stopped:
                changed[room] = {"started": [f.publisher_id for f in result.started],
                                 "stopped": [f.publisher_id for f in result.stopped]}
                log.info("sfu.synced", room=room, started=len(result.started), stopped=len(result.stopped))
        return changed


async def run_call_sync(calls: Calls, interval_s: float) -> None:
    """:meth:`Calls.sync_once` every ``interval_s`` until cancelled; failures are logged."""
    while True:
        try:
            await calls.sync_once()
        except _FAILURES as exc:  # Janus down or restarting: one line a round, not a traceback
            log.warning("sfu.sync_unreachable", error=repr(exc))
        except Exception:  # noqa: BLE001 - Janus or Redis hiccups must not stop the loop
            log.exception("sfu.sync_loop_failed")
        await asyncio.sleep(interval_s)
