"""The tiers (public) and the signed-in account: its limits, usage, voice samples, vocabulary and
documents (``/api/tiers``, ``/api/me…``).

Voice samples and documents are metadata only for now; creating one checks the tier: voice samples
need ``voice_clone`` and count against ``voice_samples``, documents need ``document_context``, and
the vocabulary is capped at ``vocabulary_terms``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import current_user, db_session, limits_of, rate_limit
from babelroom.api.errors import ApiError, responses
from babelroom.api.models import EffectiveLimitsOut, TierOut, UserOut
from babelroom.db.models import Document, Room, Tier, User, VoiceSample
from babelroom.languages import language_code
from babelroom.tiers import Limits, check_quota, require_feature

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


class VoiceSampleIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["My voice, calm"])
    language: str = Field(examples=["en"])
    duration_s: float = Field(gt=0, le=600, description="Length of the recording (s)")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return language_code(value)


class VoiceSampleOut(VoiceSampleIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime


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


class DocumentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255, examples=["glossary.pdf"])
    content_type: str = Field(min_length=1, max_length=128, examples=["application/pdf"])
    size_bytes: int = Field(ge=0, le=2**31 - 1)
    room_id: uuid.UUID | None = None


class DocumentOut(DocumentIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
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


@router.get("/api/me/voice-samples", response_model=list[VoiceSampleOut], responses=AUTH)
async def voice_samples(user: User = Depends(current_user),
                        session: AsyncSession = Depends(db_session)) -> list[VoiceSampleOut]:
    rows = await session.execute(select(VoiceSample).where(VoiceSample.user_id == user.id)
                                 .order_by(VoiceSample.created_at))
    return [VoiceSampleOut.model_validate(v) for v in rows.scalars()]


@router.post("/api/me/voice-samples", status_code=201, response_model=VoiceSampleOut,
             responses={**AUTH, **responses(403)})
async def add_voice_sample(body: VoiceSampleIn, user: User = Depends(current_user),
                           limits: Limits = Depends(limits_of),
                           session: AsyncSession = Depends(db_session)) -> VoiceSampleOut:
    """Record a voice sample's metadata. 403 without ``voice_clone`` or at ``voice_samples``."""
    require_feature(limits, "voice_clone")
    await session.execute(select(User.id).where(User.id == user.id).with_for_update())
    used = await session.scalar(select(func.count()).select_from(VoiceSample).where(VoiceSample.user_id == user.id))
    check_quota(limits, "voice_samples", used or 0, reset_hint="when you delete a voice sample")
    sample = VoiceSample(id=uuid.uuid4(), user_id=user.id, **body.model_dump())
    session.add(sample)
    await session.commit()
    await session.refresh(sample)
    return VoiceSampleOut.model_validate(sample)


@router.delete("/api/me/voice-samples/{sample_id}", status_code=204, response_class=Response,
               responses={**AUTH, **responses(404)})
async def delete_voice_sample(sample_id: uuid.UUID, user: User = Depends(current_user),
                              session: AsyncSession = Depends(db_session)) -> Response:
    result = cast(CursorResult[Any], await session.execute(
        delete(VoiceSample).where(VoiceSample.id == sample_id, VoiceSample.user_id == user.id)))
    await session.commit()
    if result.rowcount == 0:
        raise ApiError(404, "not_found", "no such voice sample")
    return Response(status_code=204)


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


@router.post("/api/me/documents", status_code=201, response_model=DocumentOut,
             responses={**AUTH, **responses(403, 404)})
async def add_document(body: DocumentIn, user: User = Depends(current_user), limits: Limits = Depends(limits_of),
                       session: AsyncSession = Depends(db_session)) -> DocumentOut:
    """Record a context document's metadata. 403 without ``document_context``."""
    require_feature(limits, "document_context")
    if body.room_id is not None and await session.get(Room, body.room_id) is None:
        raise ApiError(404, "not_found", "no such room")
    doc = Document(id=uuid.uuid4(), user_id=user.id, **body.model_dump())
    session.add(doc)
    await session.commit()
    await session.refresh(doc)
    return DocumentOut.model_validate(doc)
