"""Rooms (``/api/rooms``): create, list, show, join, leave, heartbeat, close.

Joining admits the user to the room's sockets (``/ws/rooms/{id}/audio`` and ``…/captions``).
A client without an open socket keeps its place with ``POST …/heartbeat`` at least every
``room_lease_ttl_s`` (60 s by default); sockets renew it by themselves.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import current_user, db_session, rate_limit
from babelroom.api.errors import ApiError, responses
from babelroom.api.models import JanusJoinOut, ParticipantOut, RoomOut
from babelroom.db.models import Room, RoomParticipant, User
from babelroom.diarization import buffer as diarization_buffer
from babelroom.rooms.manager import RoomManager
from babelroom.tiers import effective_limits, require_feature

router = APIRouter(prefix="/api/rooms", tags=["rooms"], dependencies=[Depends(rate_limit)],
                   responses=responses(400, 401, 429))


SPOKEN = Field("en", pattern=r"^([a-z]{2,3}|auto)$", examples=["en", "auto"],
               description="Language the user speaks in the call (ISO 639-1): their captions' source language; "
               "auto: identified from their first sentences and then locked (shown on the captions)")


class CreateRoom(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Weekly sync"])
    listen_only: bool = Field(False, description="Join without a speaking-stream slot")
    spoken_language: str = SPOKEN
    diarization: bool = Field(False, description="Label speakers inside each participant's audio (\"Speaker 2:\"), "
                              "for people sharing a microphone; Pro (403 tier limit otherwise)")


class JoinRoom(BaseModel):
    listen_only: bool = Field(False, description="Join without a speaking-stream slot")
    spoken_language: str = SPOKEN


async def enable_diarization(session: AsyncSession, manager: RoomManager, room: Room) -> None:
    """Mark ``room`` diarized in the database and for ingest (Redis flag for the room's lifetime, else a day)."""
    room.diarization = True
    await session.commit()
    lifetime = (room.expires_at - room.created_at).total_seconds() if room.expires_at else 24 * 3600
    await diarization_buffer.enable(manager.redis, str(room.id), int(lifetime) + 60)


def manager_of(request: Request) -> RoomManager:
    return request.app.state.rooms


async def call_for(manager: RoomManager, room: Room, user: User, spoken_language: str,
                   owner: User | None = None) -> JanusJoinOut | None:
    """Admit ``user`` to the room's Janus VideoRoom (None when the SFU is off or unreachable); the
    caps come from the owner's tier."""
    if manager.calls is None:
        return None
    limits = effective_limits(owner or room.owner)
    joined = await manager.calls.joined(
        str(room.id), participant=str(user.id), name=user.display_name, language=spoken_language,
        max_publishers=limits.participants_per_room, tier=limits.tier)
    return None if joined is None else JanusJoinOut.model_validate(joined, from_attributes=True)


async def room_out(session: AsyncSession, manager: RoomManager, room: Room) -> RoomOut:
    """The API view of ``room`` with its present participants."""
    present = await manager.participants(session, room.id)
    return RoomOut(
        id=room.id, name=room.name, owner_id=room.owner_id, status=room.status, created_at=room.created_at,
        expires_at=room.expires_at, closed_at=room.closed_at, close_reason=room.close_reason,
        diarization=room.diarization,
        participants=[ParticipantOut(user_id=p.user_id, display_name=p.user.display_name, speaker=p.speaker,
                                     joined_at=p.joined_at) for p in present],
        audio_ws=f"/ws/rooms/{room.id}/audio", captions_ws=f"/ws/rooms/{room.id}/captions",
    )


@router.post("", status_code=201, response_model=RoomOut, responses=responses(403, 503))
async def create_room(body: CreateRoom, user: User = Depends(current_user),
                      session: AsyncSession = Depends(db_session),
                      manager: RoomManager = Depends(manager_of)) -> RoomOut:
    """Open a room and join it. 403 at the ``concurrent_rooms`` limit or for a feature outside the
    tier (diarization), 503 when no slot is free."""
    if body.diarization:
        require_feature(effective_limits(user), "diarization")
    room = await manager.create(session, user, body.name, listen_only=body.listen_only)
    if body.diarization:
        await enable_diarization(session, manager, room)
    out = await room_out(session, manager, room)
    out.janus = await call_for(manager, room, user, body.spoken_language, owner=user)
    return out


@router.get("", response_model=list[RoomOut])
async def my_rooms(user: User = Depends(current_user), session: AsyncSession = Depends(db_session),
                   manager: RoomManager = Depends(manager_of)) -> list[RoomOut]:
    """Open rooms the user owns or is in."""
    mine = select(RoomParticipant.room_id).where(RoomParticipant.user_id == user.id,
                                                 RoomParticipant.left_at.is_(None))
    rooms = (await session.execute(
        select(Room).where(Room.status == "open", or_(Room.owner_id == user.id, Room.id.in_(mine)))
        .order_by(Room.created_at)
    )).scalars().all()
    return [await room_out(session, manager, r) for r in rooms]


@router.get("/{room_id}", response_model=RoomOut, responses=responses(404))
async def show_room(room_id: uuid.UUID, _: User = Depends(current_user), session: AsyncSession = Depends(db_session),
                    manager: RoomManager = Depends(manager_of)) -> RoomOut:
    """A room and who is in it (any signed-in user who has its id may look, e.g. before joining)."""
    return await room_out(session, manager, await manager.get(session, room_id))


@router.post("/{room_id}/join", response_model=RoomOut, responses=responses(403, 404, 409, 503))
async def join_room(room_id: uuid.UUID, body: JoinRoom, user: User = Depends(current_user),
                    session: AsyncSession = Depends(db_session),
                    manager: RoomManager = Depends(manager_of)) -> RoomOut:
    """Enter a room. 403 at ``participants_per_room`` or after the room's ``room_minutes``.

    With the SFU enabled, ``janus`` says how to enter the call (a fresh join token each time)."""
    room = await manager.join(session, user, room_id, listen_only=body.listen_only)
    out = await room_out(session, manager, room)
    out.janus = await call_for(manager, room, user, body.spoken_language)
    return out


@router.post("/{room_id}/leave", status_code=204, response_class=Response, responses=responses(403, 404))
async def leave_room(room_id: uuid.UUID, user: User = Depends(current_user),
                     session: AsyncSession = Depends(db_session),
                     manager: RoomManager = Depends(manager_of)) -> Response:
    """Leave a room; its slot is free at once and the user's sockets close (4403)."""
    await manager.leave(session, user, room_id)
    return Response(status_code=204)


@router.post("/{room_id}/heartbeat", status_code=204, response_class=Response, responses=responses(403, 404))
async def heartbeat(room_id: uuid.UUID, user: User = Depends(current_user),
                    session: AsyncSession = Depends(db_session),
                    manager: RoomManager = Depends(manager_of)) -> Response:
    """Keep the user's place (and slot) in a room without an open socket."""
    if not await manager.admitted(session, room_id, user.id) or not await manager.heartbeat(room_id, user.id):
        await manager.get(session, room_id)
        raise ApiError(403, "not_admitted", "you are not in this room (left, or your lease lapsed)")
    return Response(status_code=204)


@router.post("/{room_id}/close", response_model=RoomOut, responses=responses(403, 404, 409))
async def close_room(room_id: uuid.UUID, user: User = Depends(current_user),
                     session: AsyncSession = Depends(db_session),
                     manager: RoomManager = Depends(manager_of)) -> RoomOut:
    """Close a room (its owner or an admin): everyone leaves and every socket closes (4410)."""
    room = await manager.get(session, room_id, lock=True)
    if room.owner_id != user.id and user.role != "admin":
        raise ApiError(403, "forbidden", "only the owner or an admin closes a room")
    if room.status != "open":
        raise ApiError(409, "room_closed", f"the room is already closed ({room.close_reason})")
    await manager.close(session, room, "closed")
    return await room_out(session, manager, room)
