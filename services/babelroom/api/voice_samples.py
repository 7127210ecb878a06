"""Voice samples: a user's reference recordings for their cloned voice (``/api/voice-samples``).

``POST /api/voice-samples?name=…&language=…`` takes the audio file itself as the request body (WAV,
FLAC, Ogg, MP3 or WebM, 10-30 s, one speaker). The file is judged by its content only
(:mod:`babelroom.voice.samples`); the name and ``Content-Type`` are ignored. A refusal is a 4xx whose
body says why (``error: "voice_sample_refused"``, ``reason``, ``detail``): 413 ``too_large``, 415
``not_audio``, 422 for the rest. The tier must have ``voice_clone`` and room under ``voice_samples``
(the tier-limit body, 403). Every outcome is counted in ``babelroom_voice_samples_total{outcome}``.

The one-speaker check needs CAM++ (torch), which the gateway's image does not have: an accepted sample is
stored ``speaker_check: pending`` and the ``babelroom.check_voice_sample`` job (:mod:`babelroom.voice.queueing`)
sets it ``passed`` or ``failed`` (two speakers; ``speaker_similarity`` says how far). Only ``passed`` samples
are cloned; a failed one stays listed (so the user sees why) until they delete it. A job that cannot be queued
is counted (``babelroom_voice_sample_checks_total{outcome="not_queued"}``); the sample stays pending.

The user owns their samples: they list them and delete them; a delete removes the row and the stored
file (:mod:`babelroom.voice.storage`). A sample expires after the owner's ``history_days`` at upload
(none: kept until deleted); the retention job deletes it then.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.api.deps import current_user, db_session, limits_of, rate_limit, settings_of
from babelroom.api.errors import ApiError, ValidationErrorBody, responses
from babelroom.db.models import User, VoiceSample
from babelroom.languages import language_code
from babelroom.tiers import LimitExceeded, Limits, check_quota, require_feature
from babelroom.voice import storage
from babelroom.voice.queueing import queue_speaker_check
from babelroom.voice.samples import SampleRefused, check

router = APIRouter(tags=["voice-samples"], dependencies=[Depends(rate_limit)], responses=responses(400, 401, 429))

log = structlog.get_logger(__name__)

Reason = Literal["too_large", "not_audio", "too_short", "too_long", "clipped", "too_quiet", "too_little_speech"]
STATUS = {"too_large": 413, "not_audio": 415}  # the other reasons: 422


class VoiceSampleErrorBody(ValidationErrorBody):
    """An uploaded voice sample was refused: ``reason`` says which check failed (also the ``type`` of its
    one ``errors`` entry, at ``loc`` ``["body"]``, so that a 422 reads like any validation error)."""

    reason: Reason = Field(description="Which check failed", examples=["too_short"])


def _refusal_responses() -> dict[int | str, dict[str, object]]:
    out: dict[int | str, dict[str, object]] = {}
    for status, reason, detail in ((413, "too_large", "the file is larger than 20 MB"),
                                   (415, "not_audio", "not a readable audio file (WAV, FLAC, Ogg, MP3 or WebM)"),
                                   (422, "too_short", "4.2 s of audio: a voice sample needs 10-30 s")):
        out[status] = {"model": VoiceSampleErrorBody, "description": f"Refused: {reason} and the like",
                       "content": {"application/json": {"example": {
                           "error": "voice_sample_refused", "reason": reason, "detail": detail,
                           "errors": [{"loc": ["body"], "msg": detail, "type": reason}]}}}}
    return out


class VoiceSampleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    language: str
    duration_s: float = Field(description="Length of the recording (s)")
    format: str | None = Field(description="Container uploaded (wav, flac, ogg, mp3, webm)")
    speech_dbfs: float | None = Field(description="RMS of the active speech (dBFS)")
    speaker_check: Literal["pending", "passed", "failed"] = Field(
        description="The one-speaker check, run by a background job: pending until it ran; failed: the two "
        "halves do not sound like one speaker (the sample is not used for cloning: delete it and record again)")
    speaker_similarity: float | None = Field(description="Cosine of the speaker embeddings of the two halves "
                                             "(null while pending)")
    created_at: datetime
    expires_at: datetime | None = Field(description="When it is deleted (null: when you delete it)")


def _refuse(reason: str, detail: str) -> ApiError:
    metrics.VOICE_SAMPLES.labels(reason).inc()
    return ApiError(STATUS.get(reason, 422), "voice_sample_refused", detail, reason=reason,
                    errors=[{"loc": ["body"], "msg": detail, "type": reason}])


async def _used(session: AsyncSession, user: User) -> int:
    return await session.scalar(select(func.count()).select_from(VoiceSample).where(
        VoiceSample.user_id == user.id, _live())) or 0


async def _within_quota(session: AsyncSession, user: User, limits: Limits) -> None:
    """The tier's ``voice_samples`` quota on the user's live samples.

    Raises:
        LimitExceeded: at the quota (counted as ``tier_limit``).
    """
    try:
        check_quota(limits, "voice_samples", await _used(session, user), reset_hint="when you delete a voice sample")
    except LimitExceeded:
        metrics.VOICE_SAMPLES.labels("tier_limit").inc()
        raise


def _live() -> ColumnElement[bool]:
    """Not expired yet."""
    return or_(VoiceSample.expires_at.is_(None), VoiceSample.expires_at > func.now())


@router.post("/api/voice-samples", status_code=201, response_model=VoiceSampleOut,
             responses={**responses(403), **_refusal_responses()},
             openapi_extra={"requestBody": {
                 "required": True, "description": "The recording: WAV, FLAC, Ogg, MP3 or WebM, whatever the "
                 "Content-Type says (the content decides)",
                 "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_voice_sample(
    request: Request,
    name: str = Query(min_length=1, max_length=200, examples=["My voice, calm"]),
    language: str = Query(examples=["en"], description="The language spoken (ISO 639-1)"),
    user: User = Depends(current_user), limits: Limits = Depends(limits_of),
    session: AsyncSession = Depends(db_session),
) -> VoiceSampleOut:
    """Upload a voice sample: the audio file is the body. 403 without ``voice_clone`` or at ``voice_samples``;
    413/415/422 when the recording fails a check (the body's ``reason`` says which)."""
    settings = settings_of(request)
    try:
        code = language_code(language)
        require_feature(limits, "voice_clone")
    except LimitExceeded:
        metrics.VOICE_SAMPLES.labels("tier_limit").inc()
        raise
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"language: {exc}") from exc
    await _within_quota(session, user, limits)  # before reading the body
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > settings.voice_sample_max_bytes:
            raise _refuse("too_large", f"the file is larger than {settings.voice_sample_max_bytes // 2**20} MB")
    try:
        checked = await asyncio.to_thread(check, bytes(data), settings)
    except SampleRefused as exc:
        raise _refuse(exc.reason, exc.detail) from exc
    flac = await asyncio.to_thread(storage.encode_flac, checked.samples, checked.sample_rate)

    await session.execute(select(User.id).where(User.id == user.id).with_for_update())  # one upload at a time
    await _within_quota(session, user, limits)  # again, under the lock
    sample_id = uuid.uuid4()
    relative = storage.relative_path(user.id, sample_id)
    expires = None if limits.history_days is None else datetime.now(UTC) + timedelta(days=limits.history_days)
    await asyncio.to_thread(storage.write, settings.voice_sample_dir, relative, flac)
    sample = VoiceSample(
        id=sample_id, user_id=user.id, name=name, language=code, duration_s=round(checked.duration_s, 3),
        format=checked.format, storage_path=relative, speech_dbfs=round(checked.speech_dbfs, 1),
        speaker_check="pending", expires_at=expires,
    )
    session.add(sample)
    try:
        await session.commit()
    except BaseException:
        storage.remove(settings.voice_sample_dir, relative)
        raise
    await session.refresh(sample)
    metrics.VOICE_SAMPLES.labels("accepted").inc()
    try:
        await asyncio.to_thread(queue_speaker_check, settings, sample.id)
        metrics.VOICE_SAMPLE_CHECKS.labels("queued").inc()
    except Exception as exc:  # noqa: BLE001 - the sample is stored; it waits pending (not cloned) meanwhile
        metrics.VOICE_SAMPLE_CHECKS.labels("not_queued").inc()
        log.error("voice_samples.check_not_queued", sample=str(sample.id), error=repr(exc))
    return VoiceSampleOut.model_validate(sample)


@router.get("/api/voice-samples", response_model=list[VoiceSampleOut])
async def list_samples(user: User = Depends(current_user),
                       session: AsyncSession = Depends(db_session)) -> list[VoiceSampleOut]:
    """Your voice samples, oldest first (expired ones are gone)."""
    rows = await session.execute(select(VoiceSample).where(VoiceSample.user_id == user.id, _live())
                                 .order_by(VoiceSample.created_at))
    return [VoiceSampleOut.model_validate(v) for v in rows.scalars()]


@router.delete("/api/voice-samples/{sample_id}", status_code=204, response_class=Response,
               responses=responses(404))
async def delete_voice_sample(sample_id: uuid.UUID, request: Request, user: User = Depends(current_user),
                              session: AsyncSession = Depends(db_session)) -> Response:
    """Delete a voice sample: its row and its stored audio."""
    deleted = await session.execute(delete(VoiceSample).where(VoiceSample.id == sample_id,
                                                              VoiceSample.user_id == user.id)
                                    .returning(VoiceSample.storage_path))
    found = deleted.first()
    await session.commit()
    if found is None:
        raise ApiError(404, "not_found", "no such voice sample")
    storage.remove(settings_of(request).voice_sample_dir, found[0])
    return Response(status_code=204)
