"""Administration (``/api/admin``, role ``admin``): users, organisations, tiers, active rooms,
capacity per instance and drain mode.

Draining an instance before an upgrade: ``PUT /api/admin/capacity/{pool}/{instance}/drain`` with
``{"draining": true}`` stops new speaking streams from being placed on it; wait until its ``used`` is 0
in ``GET /api/admin/capacity``, upgrade it, then undrain it (a restarted instance that keeps its name
within ``capacity_instance_ttl_s`` is still draining; one that was gone longer registers afresh).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import admin_user, db_session, rate_limit
from babelroom.api.errors import ApiError, responses
from babelroom.api.models import FeaturesOut, LimitsOut, TierOut, UserOut
from babelroom.capacity import POOLS, Capacity, InstanceState
from babelroom.db.models import LIMIT_NAMES, Organisation, Room, RoomParticipant, Tier, User

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(rate_limit), Depends(admin_user)],
                   responses=responses(400, 401, 403, 429))

Overrides = dict[str, int | None]


def _check_overrides(value: Overrides | None) -> Overrides | None:
    if value is None:
        return None
    unknown = set(value) - set(LIMIT_NAMES)
    if unknown:
        raise ValueError(f"unknown limits {sorted(unknown)}; known: {list(LIMIT_NAMES)}")
    if any(v is not None and not 0 <= v <= 10**9 for v in value.values()):
        raise ValueError("a limit is null (unlimited) or between 0 and 10^9")
    return value


class UserPatch(BaseModel):
    """Fields to change; absent fields stay."""

    role: Literal["user", "admin"] | None = None
    tier: str | None = Field(None, max_length=32, examples=["premium"])
    organisation_id: uuid.UUID | None = None
    limit_overrides: Overrides | None = Field(None, description="Replaces the user's overrides; null: unlimited")
    disabled: bool | None = None

    _overrides = field_validator("limit_overrides")(_check_overrides)


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Acme"])
    limit_overrides: Overrides = Field(default_factory=dict, examples=[{"participants_per_room": 50}])

    _overrides = field_validator("limit_overrides")(_check_overrides)


class OrganisationOut(OrganisationIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime


class TierIn(BaseModel):
    """A tier's full definition (replaces the current one)."""

    limits: LimitsOut
    features: FeaturesOut


class ActiveRoom(BaseModel):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    participants: int
    created_at: datetime
    expires_at: datetime | None


class InstanceOut(BaseModel):
    pool: str = Field(examples=["stt"])
    instance: str = Field(examples=["stt.1"])
    slots: int = Field(description="Configured concurrent speaking streams")
    used: int
    utilisation: float
    draining: bool


class PoolOut(BaseModel):
    pool: str
    slots: int = Field(description="Free-for-placement slots: non-draining instances only")
    used: int
    instances: list[InstanceOut]


class DrainIn(BaseModel):
    draining: bool


def _instance_out(s: InstanceState) -> InstanceOut:
    return InstanceOut(pool=s.pool, instance=s.instance, slots=s.slots, used=s.used, utilisation=s.utilisation,
                       draining=s.draining)


def capacity_of(request: Request) -> Capacity:
    return request.app.state.capacity


@router.get("/users", response_model=list[UserOut])
async def users(email: str | None = Query(None, max_length=320, description="Substring of the e-mail"),
                offset: int = Query(0, ge=0, le=10**6), limit: int = Query(50, ge=1, le=500),
                session: AsyncSession = Depends(db_session)) -> list[UserOut]:
    query = select(User).order_by(User.created_at).offset(offset).limit(limit)
    if email:
        query = query.where(func.strpos(User.email, email.lower()) > 0)
    return [UserOut.of(u) for u in (await session.execute(query)).scalars()]


@router.patch("/users/{user_id}", response_model=UserOut, responses=responses(404))
async def patch_user(user_id: uuid.UUID, body: UserPatch, session: AsyncSession = Depends(db_session)) -> UserOut:
    """Change a user's role, tier, organisation, overrides or disabled flag."""
    user = await session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", "no such user")
    changes = body.model_dump(exclude_unset=True)
    if "tier" in changes:
        if changes["tier"] is None or await session.get(Tier, changes["tier"]) is None:
            raise ApiError(404, "not_found", f"no tier {changes['tier']!r}")
        user.tier_name = changes.pop("tier")
    if (changes.get("organisation_id") is not None
            and await session.get(Organisation, changes["organisation_id"]) is None):
        raise ApiError(404, "not_found", "no such organisation")
    for name in ("role", "disabled", "limit_overrides"):
        if changes.get(name) is not None:
            setattr(user, name, changes[name])
    if "organisation_id" in changes:
        user.organisation_id = changes["organisation_id"]
    await session.commit()
    session.expunge(user)
    fresh = await session.get(User, user_id)
    if fresh is None:  # deleted meanwhile
        raise ApiError(404, "not_found", "no such user")
    return UserOut.of(fresh)


@router.get("/organisations", response_model=list[OrganisationOut])
async def organisations(session: AsyncSession = Depends(db_session)) -> list[OrganisationOut]:
    rows = await session.execute(select(Organisation).order_by(Organisation.name))
    return [OrganisationOut.model_validate(o) for o in rows.scalars()]


async def _commit_organisation(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "an organisation of that name exists") from exc


@router.post("/organisations", status_code=201, response_model=OrganisationOut, responses=responses(409))
async def add_organisation(body: OrganisationIn, session: AsyncSession = Depends(db_session)) -> OrganisationOut:
    """Create an organisation; its ``limit_overrides`` are its enterprise terms."""
    org = Organisation(id=uuid.uuid4(), **body.model_dump())
    session.add(org)
    await _commit_organisation(session)
    await session.refresh(org)
    return OrganisationOut.model_validate(org)


@router.put("/organisations/{org_id}", response_model=OrganisationOut, responses=responses(404, 409))
async def put_organisation(org_id: uuid.UUID, body: OrganisationIn,
                           session: AsyncSession = Depends(db_session)) -> OrganisationOut:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise ApiError(404, "not_found", "no such organisation")
    org.name, org.limit_overrides = body.name, body.limit_overrides
    await _commit_organisation(session)
    return OrganisationOut.model_validate(org)


@router.get("/tiers", response_model=list[TierOut])
async def tiers(session: AsyncSession = Depends(db_session)) -> list[TierOut]:
    return [TierOut.of(t) for t in (await session.execute(select(Tier).order_by(Tier.rank))).scalars()]


@router.put("/tiers/{name}", response_model=TierOut, responses=responses(404))
async def put_tier(name: str, body: TierIn, session: AsyncSession = Depends(db_session)) -> TierOut:
    """Change a tier's limits and features (they apply to the tier's accounts at once)."""
    tier = await session.get(Tier, name)
    if tier is None:
        raise ApiError(404, "not_found", f"no tier {name!r}")
    if any(v is not None and not 0 <= v <= 10**9 for v in body.limits.model_dump().values()):
        raise ApiError(400, "bad_request", "a limit is null (unlimited) or between 0 and 10^9")
    for key, value in body.limits.model_dump().items():
        setattr(tier, key, value)
    tier.features = body.features.model_dump()
    await session.commit()
    return TierOut.of(tier)


@router.get("/rooms", response_model=list[ActiveRoom])
async def active_rooms(session: AsyncSession = Depends(db_session)) -> list[ActiveRoom]:
    """Every open room with its number of present participants."""
    present = (select(func.count()).where(RoomParticipant.room_id == Room.id, RoomParticipant.left_at.is_(None))
               .scalar_subquery())
    rows: Sequence[tuple[Room, int]] = (await session.execute(
        select(Room, present).where(Room.status == "open").order_by(Room.created_at))).all()
    return [ActiveRoom(id=r.id, name=r.name, owner_id=r.owner_id, participants=n, created_at=r.created_at,
                       expires_at=r.expires_at) for r, n in rows]


@router.get("/capacity", response_model=list[PoolOut])
async def capacity(cap: Capacity = Depends(capacity_of)) -> list[PoolOut]:
    """Slots and their use per pool and per live instance."""
    states = await cap.snapshot()
    out = []
    for pool in POOLS:
        mine = [s for s in states if s.pool == pool]
        out.append(PoolOut(
            pool=pool, slots=sum(s.slots for s in mine if not s.draining), used=sum(s.used for s in mine),
            instances=[_instance_out(s) for s in mine],
        ))
    return out


@router.put("/capacity/{pool}/{instance}/drain", response_model=InstanceOut, responses=responses(404))
async def drain(pool: Literal["stt", "mt"], instance: str, body: DrainIn,
                cap: Capacity = Depends(capacity_of)) -> InstanceOut:
    """Start or stop draining one instance (see the module docstring)."""
    found = await cap.set_draining(pool, instance, body.draining)
    state = next((s for s in await cap.snapshot((pool,)) if s.instance == instance), None)
    if not found or state is None:
        raise ApiError(404, "not_found", f"no live {pool} instance {instance!r}")
    return _instance_out(state)
