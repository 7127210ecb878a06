"""The tiers (public) and the signed-in account: its limits, usage, vocabulary and documents
(``/api/tiers``, ``/api/me…``). Voice samples: :mod:`babelroom.api.voice_samples`.

Documents are metadata only for now; creating one checks the tier: documents need ``document_context``,
and the vocabulary is capped at ``vocabulary_terms``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import current_user, db_session, limits_of, rate_limit
from babelroom.api.errors import responses
from babelroom.api.models import EffectiveLimitsOut, TierOut, UserOut
from babelroom.db.models import Document, Room, Tier, User, VoiceSample
from babelroom.tiers import Limits, check_quota

router = APIRouter(tags=["account"], dependencies=[Depends(rate_limit)], responses=responses(400, 429))
AUTH = responses(401)


class Usage(BaseModel):
    open_rooms: int
    voice_samples: int
    vocabulary_terms: int


class Me(BaseModel):
    user: UserOut
    effective: EffectiveLimitsOut
    usage: Usage


class Vocabulary(BaseModel):
    terms: list[str] = Field(max_length=100_000, description="Words and names the recogniser should expect",
                             examples=[["Babelroom", "Kubernetes"]])

    @field_validator("terms")
    @classmethod
    def _clean(cls, terms: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
        if any(len(t) > 100 for t in cleaned):
            raise ValueError("a term is at most 100 characters")
        return cleaned


class DocumentOut(BaseModel):
    """One of the user's context documents, in any room (uploaded with ``POST /api/rooms/{id}/documents``)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str = Field(examples=["glossary.md"])
    content_type: str = Field(examples=["text/markdown"])
    size_bytes: int
    room_id: uuid.UUID | None = None
    created_at: datetime


@router.get("/api/tiers", response_model=list[TierOut])
async def tiers(session: AsyncSession = Depends(db_session)) -> list[TierOut]:
    """Every tier with its limits (null: unlimited) and feature flags, cheapest first."""
    return [TierOut.of(t) for t in (await session.execute(select(Tier).order_by(Tier.rank))).scalars()]


@router.get("/api/me", response_model=Me, responses=AUTH)
async def me(user: User = Depends(current_user), limits: Limits = Depends(limits_of),
             session: AsyncSession = Depends(db_session)) -> Me:
    """The account, the limits and features it runs under, and how much of them it uses."""
    open_rooms = await session.scalar(
        select(func.count()).select_from(Room).where(Room.owner_id == user.id, Room.status == "open"))
    samples = await session.scalar(select(func.count()).select_from(VoiceSample).where(VoiceSample.user_id == user.id))
    return Me(user=UserOut.of(user), effective=EffectiveLimitsOut.of(limits),
              usage=Usage(open_rooms=open_rooms or 0, voice_samples=samples or 0,
                          vocabulary_terms=len(user.vocabulary)))


@router.get("/api/me/vocabulary", response_model=Vocabulary, responses=AUTH)
async def vocabulary(user: User = Depends(current_user)) -> Vocabulary:
    return Vocabulary(terms=user.vocabulary)


@router.put("/api/me/vocabulary", response_model=Vocabulary, responses={**AUTH, **responses(403)})
async def set_vocabulary(body: Vocabulary, user: User = Depends(current_user), limits: Limits = Depends(limits_of),
                         session: AsyncSession = Depends(db_session)) -> Vocabulary:
    """Replace the custom vocabulary. 403 when it has more terms than ``vocabulary_terms``."""
    check_quota(limits, "vocabulary_terms", 0, adding=len(body.terms), reset_hint="send fewer terms",
                what="custom vocabulary terms")
    user.vocabulary = body.terms
    await session.commit()
    return Vocabulary(terms=user.vocabulary)


@router.get("/api/me/documents", response_model=list[DocumentOut], responses=AUTH)
async def documents(user: User = Depends(current_user),
                    session: AsyncSession = Depends(db_session)) -> list[DocumentOut]:
    rows = await session.execute(select(Document).where(Document.user_id == user.id).order_by(Document.created_at))
    return [DocumentOut.model_validate(d) for d in rows.scalars()]
