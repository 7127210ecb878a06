"""The room manager: create, join, leave and close rooms; expiry; presence.

- **Create**: the owner's ``concurrent_rooms`` limit is checked under a lock on the owner's row, the
  room gets ``expires_at = now + room_minutes`` (none when unlimited), and the owner joins it.
- **Join**: under a lock on the room's row, the owner's ``participants_per_room`` limit is checked,
  then a speaking-stream slot is leased in each pool (:mod:`babelroom.capacity`); none free
  raises :class:`~babelroom.capacity.NoCapacity` with a retry estimate: the seconds until the
  soonest open room reaches its length limit, at most ``capacity_retry_after_s``. A listen-only
  participant takes no slot.
- **Leave** and **close** free the slots at once; so does expiry. A participant whose client stops
  renewing its lease (sockets and heartbeats) for ``room_lease_ttl_s`` loses it, and the sweep marks
  them left.
- **Sweep** (every gateway runs it every ``room_sweep_interval_s``): warns rooms ``room_warning_s``
  before they close (a ``room_expiring`` notice to every socket of the room), closes expired rooms
  (``room_closed``), marks vanished participants left (``participant_left``) and closes rooms that
  have had nobody in them for ``room_lease_ttl_s`` (reason ``empty``). Each step is a conditional
  UPDATE or ``SELECT … FOR UPDATE SKIP LOCKED``, so with several replicas each event happens once.

Refusals are domain errors (:mod:`babelroom.rooms.errors`, ``NoCapacity``, ``LimitExceeded``); the
HTTP API maps them to status codes (:mod:`babelroom.api.errors`).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis.asyncio as aioredis
import structlog
from sqlalchemy import ColumnElement, CursorResult, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.bus.schemas import Notice
from babelroom.bus.streams import partial_captions_stream
from babelroom.capacity import POOLS, Capacity, NoCapacity
from babelroom.config import Settings
from babelroom.context.room_cache import nearest_key, recent_key, terms_key
from babelroom.db.models import Room, RoomParticipant, User
from babelroom.db.session import Database
from babelroom.rooms import notices
from babelroom.rooms.errors import NotAdmitted, RoomClosed, RoomNotFound
from babelroom.sfu.calls import Calls
from babelroom.tiers import LimitExceeded, check_quota, effective_limits

log = structlog.get_logger(__name__)
#: When Redis started keeping presence (Unix s): set by the first sweep after Redis lost its data.
PRESENCE_EPOCH_KEY = "rooms:presence_epoch"


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did (room ids)."""

    warned: list[str]
    expired: list[str]
    vanished: list[tuple[str, str]]
    emptied: list[str]


def _ms(t: datetime) -> float:
    return t.timestamp() * 1000.0


class RoomManager:
    """Rooms in PostgreSQL, slots and presence in Redis, notices on the rooms' streams."""

    def __init__(self, settings: Settings, redis: aioredis.Redis, capacity: Capacity) -> None:
        self.settings = settings
        self.redis = redis
        self.capacity = capacity
        self.calls: Calls | None = None  # the rooms' Janus side (babelroom.sfu.calls), when enabled

    # --- queries ---

    async def get(self, session: AsyncSession, room_id: uuid.UUID, *, lock: bool = False) -> Room:
        """The room, optionally locked for update.

        Raises:
            RoomNotFound: there is no such room.
        """
        query = select(Room).where(Room.id == room_id)
        if lock:
            query = query.with_for_update(of=Room)
        room = (await session.execute(query)).scalars().first()
        if room is None:
            raise RoomNotFound()
        return room

    async def participants(self, session: AsyncSession, room_id: uuid.UUID) -> list[RoomParticipant]:
        """The room's participants who have not left, in joining order."""
        rows = await session.execute(
            select(RoomParticipant).where(RoomParticipant.room_id == room_id, RoomParticipant.left_at.is_(None))
            .order_by(RoomParticipant.joined_at)
        )
        return list(rows.scalars())

    async def admitted(self, session: AsyncSession, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Whether ``user_id`` is a present participant of the open room ``room_id``."""
        return await self.presence(session, room_id, user_id) is not None

    async def presence(self, session: AsyncSession, room_id: uuid.UUID,
                       user_id: uuid.UUID) -> RoomParticipant | None:
        """``user_id``'s participant record in the open room ``room_id`` (with its ``speaker`` flag and
        ``user``), or None when they are not present in it."""
        query = (
            select(RoomParticipant).join(Room, Room.id == RoomParticipant.room_id)
            .where(RoomParticipant.room_id == room_id, RoomParticipant.user_id == user_id,
                   RoomParticipant.left_at.is_(None), Room.status == "open")
        )
        return (await session.execute(query)).scalars().first()

    async def retry_after_s(self, session: AsyncSession) -> int:
        """Seconds until the soonest open room reaches its length limit, capped by
        ``capacity_retry_after_s`` (participants also leave at any time)."""
        now = datetime.now(UTC)
        soonest = await session.scalar(
            select(func.min(Room.expires_at)).where(Room.status == "open", Room.expires_at > now)
        )
        cap = self.settings.capacity_retry_after_s
        if soonest is None:
            return cap
        return max(1, min(cap, math.ceil((soonest - now).total_seconds())))

    # --- lifecycle ---

    async def create(self, session: AsyncSession, owner: User, name: str, *, listen_only: bool = False) -> Room:
        """Open a room owned by ``owner``, who joins it.

        Raises:
            LimitExceeded: ``concurrent_rooms`` reached (resets when one of the owner's rooms closes).
            NoCapacity: no free slot in a pool (with ``retry_after_s``).
        """
        await session.execute(select(User.id).where(User.id == owner.id).with_for_update())
        limits = effective_limits(owner)
        open_rooms = (await session.execute(
            select(func.count(), func.min(Room.expires_at)).where(Room.owner_id == owner.id, Room.status == "open")
        )).one()
        check_quota(limits, "concurrent_rooms", open_rooms[0], resets_at=open_rooms[1],
                    reset_hint="when one of your open rooms closes", what="open rooms at a time")
        now = datetime.now(UTC)
        room = Room(
            id=uuid.uuid4(), name=name, owner_id=owner.id, status="open", created_at=now,
            expires_at=now + timedelta(minutes=limits.room_minutes) if limits.room_minutes is not None else None,
        )
        session.add(room)
        await session.flush()
        await self._admit(session, room, owner, listen_only=listen_only, now=now)
        metrics.ROOM_EVENTS.labels("created").inc()
        log.info("room.created", room=str(room.id), owner=str(owner.id), expires_at=str(room.expires_at))
        return room

    async def join(self, session: AsyncSession, user: User, room_id: uuid.UUID, *, listen_only: bool = False) -> Room:
        """Admit ``user`` to the room (idempotent for someone already in it).

        Raises:
            RoomNotFound, RoomClosed: no such room, or it is closed.
            NoCapacity: no free slot in a pool (with ``retry_after_s``).
            LimitExceeded: ``room_minutes`` (the room reached its length) or ``participants_per_room``.
        """
        room = await self.get(session, room_id, lock=True)
        now = datetime.now(UTC)
        owner_limits = effective_limits(room.owner)
        if room.close_reason == "expired" or (room.expires_at is not None and room.expires_at <= now):
            raise LimitExceeded(
                "room_minutes", owner_limits.room_minutes, owner_limits.tier, resets_at=None,
                reset_hint="a room closes at its tier's length: open a new one",
                detail=f"this room reached its {owner_limits.room_minutes}-minute limit ({owner_limits.tier} tier)",
            )
        if room.status != "open":
            raise RoomClosed(room.close_reason)
        present = await self.participants(session, room.id)
        if any(p.user_id == user.id for p in present):
            await self._lease(session, room, user, listen_only)
            return room
        check_quota(owner_limits, "participants_per_room", len(present),
                    reset_hint="when a participant leaves", what="participants per room")
        await self._admit(session, room, user, listen_only=listen_only, now=now)
        return room

    async def _lease(self, session: AsyncSession, room: Room, user: User, listen_only: bool) -> None:
        try:
            await self.capacity.acquire(str(room.id), str(user.id), () if listen_only else POOLS)
        except NoCapacity as exc:
            await session.rollback()
            retry = await self.retry_after_s(session)
            raise NoCapacity(exc.pool, retry_after_s=retry) from exc

    async def _admit(self, session: AsyncSession, room: Room, user: User, *, listen_only: bool, now: datetime) -> None:
        room_key, user_key = str(room.id), str(user.id)
        await self._lease(session, room, user, listen_only)
        try:
            existing = await session.get(RoomParticipant, (room.id, user.id))
            if existing is None:
                session.add(RoomParticipant(room_id=room.id, user_id=user.id, speaker=not listen_only, joined_at=now))
            else:
                existing.speaker, existing.joined_at = not listen_only, now
                existing.left_at, existing.left_reason = None, None
            await session.commit()
        except BaseException:
            await self.capacity.release(room_key, user_key)
            raise
        metrics.ROOM_EVENTS.labels("participant_joined").inc()

    async def leave(self, session: AsyncSession, user: User, room_id: uuid.UUID) -> None:
        """Take ``user`` out of the room and free their slots.

        Raises:
            RoomNotFound: no such room.
            NotAdmitted: they are not in it.
        """
        await self.get(session, room_id)
        result = cast(CursorResult[Any], await session.execute(
            update(RoomParticipant)
            .where(RoomParticipant.room_id == room_id, RoomParticipant.user_id == user.id,
                   RoomParticipant.left_at.is_(None))
            .values(left_at=datetime.now(UTC), left_reason="left")
        ))
        await session.commit()
        if result.rowcount == 0:
            raise NotAdmitted()
        await self._gone(str(room_id), str(user.id), "left")

    async def _gone(self, room: str, user: str, reason: str) -> None:
        await self.capacity.release(room, user)
        if self.calls is not None:
            await self.calls.left(room, user)
        await notices.publish(self.redis, Notice(
            room=room, code="participant_left", user=user, reason=reason, message=f"participant {reason}"))
        metrics.ROOM_EVENTS.labels(f"participant_{reason}").inc()

    async def close(self, session: AsyncSession, room: Room, reason: str, now: datetime | None = None) -> Room:
        """Close an open room: everyone leaves, slots are freed, sockets get ``room_closed``, its side
        stream of partial captions goes (its finals expire with ``captions_retention_s``)."""
        now = now or datetime.now(UTC)
        room.status, room.closed_at, room.close_reason = "closed", now, reason
        await session.execute(
            update(RoomParticipant).where(RoomParticipant.room_id == room.id, RoomParticipant.left_at.is_(None))
            .values(left_at=now, left_reason=reason)
        )
        await session.commit()
        await self.capacity.release_room(str(room.id))
        if self.calls is not None:
            await self.calls.closed(str(room.id))
        await notices.publish(self.redis, Notice(
            room=str(room.id), code="room_closed", reason=reason, message=f"the room is closed ({reason})"))
        await self.redis.delete(partial_captions_stream(str(room.id)))  # partials are for live listeners only
        room_key = str(room.id)  # no more decodes for its document context to help:
        await self.redis.delete(terms_key(room_key), nearest_key(room_key), recent_key(room_key))
        metrics.ROOM_EVENTS.labels(f"closed_{reason}").inc()
        log.info("room.closed", room=str(room.id), reason=reason)
        return room

    async def heartbeat(self, room_id: uuid.UUID, user_id: uuid.UUID, db: Database | None = None) -> bool:
        """Renew the participant's lease; False when it already lapsed.

        With ``db``, a lapsed lease of someone still present in PostgreSQL (Redis lost its data) is
        taken again: with slots for a speaker if any are free, else presence only.
        """
        if await self.capacity.renew(str(room_id), str(user_id)):
            return True
        if db is None:
            return False
        async with db.session() as session:
            participant = await self.presence(session, room_id, user_id)
        if participant is None:
            return False
        try:
            await self.capacity.acquire(str(room_id), str(user_id), POOLS if participant.speaker else ())
        except NoCapacity:
            await self.capacity.acquire(str(room_id), str(user_id), ())
        log.warning("room.lease_restored", room=str(room_id), user=str(user_id))
        return True

    # --- the periodic sweep ---

    async def sweep(self, db: Database, now: datetime | None = None) -> SweepReport:
        """Warn, expire, drop vanished participants and close empty rooms (see the module docstring).

        ``now`` (default: the current time) lets tests jump to a room's end.
        """
        now = now or datetime.now(UTC)
        warning = timedelta(seconds=self.settings.room_warning_s)
        async with db.session() as session:
            warned = (await session.execute(
                update(Room)
                .where(Room.status == "open", Room.expires_at <= now + warning, Room.warned_at.is_(None))
                .values(warned_at=now).returning(Room.id, Room.expires_at)
            )).all()
            await session.commit()
        for room_id, expires_at in warned:
            assert expires_at is not None  # selected by expires_at <= now + warning
            minutes = max(0, round((expires_at - now).total_seconds() / 60))
            await notices.publish(self.redis, Notice(
                room=str(room_id), code="room_expiring", closes_at_ms=_ms(expires_at),
                message=f"this room closes in {minutes} min (tier limit)"))
            metrics.ROOM_EVENTS.labels("warned").inc()
        expired = await self._close_where(db, now, "expired", Room.expires_at <= now)
        vanished = await self._drop_vanished(db)
        cutoff = now - timedelta(seconds=self.settings.room_lease_ttl_s)
        anyone = exists().where(
            RoomParticipant.room_id == Room.id,
            (RoomParticipant.left_at.is_(None)) | (RoomParticipant.left_at > cutoff),
        )
        emptied = await self._close_where(db, now, "empty", ~anyone, Room.created_at < cutoff)
        return SweepReport([str(r) for r, _ in warned], expired, vanished, emptied)

    async def _close_where(self, db: Database, now: datetime, reason: str,
                           *conditions: ColumnElement[bool]) -> list[str]:
        async with db.session() as session:
            rooms = (await session.execute(
                select(Room).where(Room.status == "open", *conditions).with_for_update(of=Room, skip_locked=True)
            )).scalars().all()
            for room in rooms:
                await self.close(session, room, reason, now)
        return [str(r.id) for r in rooms]

    async def _presence_trusted(self) -> bool:
        """Whether Redis has kept presence for a whole lease TTL: after Redis lost its data (a restart
        without persistence) every lease is gone, so nobody counts as vanished until their sockets
        and heartbeats had ``room_lease_ttl_s`` to renew (:meth:`heartbeat` restores them)."""
        now = datetime.now(UTC).timestamp()
        await self.redis.set(PRESENCE_EPOCH_KEY, now, nx=True)
        since = float(await self.redis.get(PRESENCE_EPOCH_KEY) or now)
        return now - since >= self.settings.room_lease_ttl_s

    async def _drop_vanished(self, db: Database) -> list[tuple[str, str]]:
        if not await self._presence_trusted():
            return []
        async with db.session() as session:
            rows = (await session.execute(
                select(RoomParticipant.room_id, RoomParticipant.user_id).join(Room, Room.id == RoomParticipant.room_id)
                .where(Room.status == "open", RoomParticipant.left_at.is_(None))
            )).all()
        by_room: dict[uuid.UUID, list[str]] = defaultdict(list)
        for room_id, user_id in rows:
            by_room[room_id].append(str(user_id))
        gone: list[tuple[str, str]] = []
        for room_id, users in by_room.items():
            missing = set(users) - await self.capacity.present(str(room_id), users)
            if not missing:
                continue
            async with db.session() as session:
                left = (await session.execute(
                    update(RoomParticipant)
                    .where(RoomParticipant.room_id == room_id,
                           RoomParticipant.user_id.in_([uuid.UUID(u) for u in missing]),
                           RoomParticipant.left_at.is_(None))
                    .values(left_at=datetime.now(UTC), left_reason="heartbeat")
                    .returning(RoomParticipant.user_id)
                )).scalars().all()
                await session.commit()
            for user_id in left:
                await self._gone(str(room_id), str(user_id), "heartbeat")
                gone.append((str(room_id), str(user_id)))
        return gone
