"""Transcript history: pages by room and time, exports per language, full-text search.

Who may read: the room's participants (present or past) and admins. How far back: the reader's
``history_days`` (older segments are deleted by the retention job anyway; asking for them is a 403).

- ``GET /api/rooms/{id}/transcript``: finals in room order, ``after_seq`` + ``limit`` pages, optional
  ``start``/``end`` on the time the speech ended (``spoken_at``).
- ``GET /api/rooms/{id}/transcript/export?format=srt|vtt|txt|json&lang=xx``: the original text
  (no ``lang``) or one language's translations (segments not translated into it are left out). Cue
  times run from the room's opening.
- ``GET /api/transcripts/search?q=…``: PostgreSQL full-text search (``websearch_to_tsquery``, the
  'simple' dictionary) over original texts and translations, by keyword, time range, room and speaker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, exists, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import current_user, db_session, rate_limit
from babelroom.api.errors import ApiError, responses
from babelroom.bus.schemas import Caption, Translation
from babelroom.captions.formats import to_srt, to_txt, to_vtt
from babelroom.db.models import Room, RoomParticipant, TranscriptSegment, User
from babelroom.languages import language_code
from babelroom.tiers import LimitExceeded, effective_limits

_Select = TypeVar("_Select", bound=Select)

router = APIRouter(tags=["transcripts"], dependencies=[Depends(rate_limit)], responses=responses(400, 401, 403, 429))


class SegmentOut(BaseModel):
    """One final: who said what, when, and its translations."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    room_id: uuid.UUID
    speaker: str = Field(description="The speaker's user id")
    speaker_name: str = Field(examples=["Ana"])
    seq: int = Field(description="Per-speaker segment number")
    room_seq: int = Field(description="Room-wide final number")
    segment_id: str
    audio_start_ms: int = Field(description="In the speaker's own stream timeline")
    audio_end_ms: int
    language: str = Field(examples=["en"])
    text: str = Field(examples=["Hello everyone."])
    translations: dict[str, str] = Field(examples=[{"es": "Hola a todos."}])
    confidence: float | None = Field(description="exp(average token log-probability)")
    spoken_at: datetime = Field(description="When the speech ended")
    speaker_label: str | None = Field(None, examples=["Speaker 2"],
                                      description="Diarization (Pro rooms that opted in): who spoke inside this "
                                      "participant's audio; null: not labelled")


class TranscriptPage(BaseModel):
    items: list[SegmentOut]
    next_after_seq: int | None = Field(description="Pass as after_seq for the next page; null at the end")


class SearchHit(BaseModel):
    segment: SegmentOut
    room_name: str
    rank: float
    headline: str = Field(description="The original text with matches in <b>…</b>")


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int


class ExportFormat(StrEnum):
    srt = "srt"
    vtt = "vtt"
    txt = "txt"
    json = "json"


MEDIA_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain", "json": "application/json"}


def _language(lang: str | None) -> str | None:
    if lang is None:
        return None
    try:
        return language_code(lang)
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc


def _window(user: User, start: datetime | None) -> datetime | None:
    """The earliest time ``user`` may read; 403 when ``start`` asks for earlier."""
    limits = effective_limits(user)
    if limits.history_days is None:
        return start
    earliest = datetime.now(UTC) - timedelta(days=limits.history_days)
    if start is not None and start.astimezone(UTC) < earliest:
        raise LimitExceeded(
            "history_days", limits.history_days, limits.tier, reset_hint="older transcripts are deleted",
            detail=f"the {limits.tier} tier keeps {limits.history_days} days of history",
        )
    return earliest if start is None else start


def _readable_rooms(user: User) -> Select:
    return select(RoomParticipant.room_id).where(RoomParticipant.user_id == user.id)


async def _readable_room(session: AsyncSession, user: User, room_id: uuid.UUID) -> Room:
    room = await session.get(Room, room_id)
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    if user.role != "admin" and not await session.scalar(
        select(exists().where(RoomParticipant.room_id == room_id, RoomParticipant.user_id == user.id))
    ):
        raise ApiError(403, "not_admitted", "only the room's participants read its transcript")
    return room


def _in_range(query: _Select, start: datetime | None, end: datetime | None) -> _Select:
    if start is not None:
        query = query.where(TranscriptSegment.spoken_at >= start)
    if end is not None:
        query = query.where(TranscriptSegment.spoken_at <= end)
    return query


@router.get("/api/rooms/{room_id}/transcript", response_model=TranscriptPage, responses=responses(404))
async def transcript(
    room_id: uuid.UUID,
    start: datetime | None = Query(None, description="Speech that ended at or after (ISO 8601)"),
    end: datetime | None = Query(None, description="Speech that ended at or before (ISO 8601)"),
    after_seq: int = Query(0, ge=0, le=2**31 - 1, description="Only finals with a greater room_seq"),
    limit: int = Query(100, ge=1, le=500),
    user: User = Depends(current_user),
    session: AsyncSession = Depends(db_session),
) -> TranscriptPage:
    """A page of a room's finals in room order."""
    await _readable_room(session, user, room_id)
    query = select(TranscriptSegment).where(TranscriptSegment.room_id == room_id,
                                            TranscriptSegment.room_seq > after_seq)
    query = _in_range(query, _window(user, start), end).order_by(TranscriptSegment.room_seq).limit(limit + 1)
    rows = (await session.execute(query)).scalars().all()
    items = [SegmentOut.model_validate(r) for r in rows[:limit]]
    return TranscriptPage(items=items, next_after_seq=items[-1].room_seq if len(rows) > limit else None)


@router.get(
    "/api/rooms/{room_id}/transcript/export",
    response_class=Response,
    responses={**responses(404), 200: {"description": "The file", "content": {
        t: {"schema": {"type": "string"}} for t in MEDIA_TYPES.values()}}},
)
async def export(
    room_id: uuid.UUID,
    format: ExportFormat = Query(ExportFormat.srt),
    lang: str | None = Query(None, description="ISO 639-1; omitted: each segment's original text"),
    user: User = Depends(current_user),
    session: AsyncSession = Depends(db_session),
) -> Response:
    """The room's transcript as a subtitle or text file in one language."""
    room = await _readable_room(session, user, room_id)
    language = _language(lang)
    query = _in_range(select(TranscriptSegment).where(TranscriptSegment.room_id == room_id),
                      _window(user, None), None)
    rows = (await session.execute(query.order_by(TranscriptSegment.room_seq))).scalars().all()
    labelled = [(c, r.speaker_label) for r in rows if (c := _caption(room, r, language)) is not None]
    if format is ExportFormat.json:
        body = "[" + ",".join(_cue_json(c, label) for c, label in labelled) + "]"
    else:  # a diarized final is "Shared mic (Speaker 2): …"
        captions = [c.model_copy(update={"speaker_name": f"{c.speaker_name} ({label})"}) if label else c
                    for c, label in labelled]
        body = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt}[format.value](captions)
    name = f"transcript-{room_id}.{language or 'original'}.{format.value}"
    return Response(body, media_type=MEDIA_TYPES[format.value],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


class _Cue(BaseModel):
    room_seq: int
    speaker: str
    speaker_name: str
    speaker_label: str | None
    start_ms: int
    end_ms: int
    language: str
    text: str


def _cue_json(c: Caption, label: str | None) -> str:
    return _Cue(room_seq=c.room_seq, speaker=c.speaker, speaker_name=c.speaker_name, speaker_label=label,
                start_ms=c.audio_start_ms,
                end_ms=c.audio_end_ms, language=c.translation.language, text=c.translation.text).model_dump_json()


def _caption(room: Room, row: TranscriptSegment, lang: str | None) -> Caption | None:
    """``row`` as a final caption in ``lang`` (None: its own language), timed from the room's opening."""
    target = lang or row.language
    text = row.text if target == row.language else row.translations.get(target)
    if text is None:
        return None
    end_ms = max(0, round((row.spoken_at - room.created_at).total_seconds() * 1000))
    start_ms = max(0, end_ms - (row.audio_end_ms - row.audio_start_ms))
    return Caption(
        room=str(room.id), speaker=row.speaker, speaker_name=row.speaker_name, language=row.language,
        segment_id=row.segment_id, seq=row.seq, audio_start_ms=start_ms, audio_end_ms=end_ms, type="final",
        room_seq=row.room_seq, text=row.text,
        translation=Translation(language=target, text=text, backend=row.backends.get(target, "source")),
    )


@router.get("/api/transcripts/search", response_model=SearchPage)
async def search(
    q: str = Query(min_length=1, max_length=200, description="Keywords (web-search syntax: \"a phrase\", -not, or)"),
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    room_id: uuid.UUID | None = Query(None),
    speaker: str | None = Query(None, max_length=128, description="A speaker's user id or display name"),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000),
    user: User = Depends(current_user),
    session: AsyncSession = Depends(db_session),
) -> SearchPage:
    """Finals matching ``q`` in the rooms the user was in (every room for an admin), best first."""
    tsquery = func.websearch_to_tsquery(literal_column("'simple'::regconfig"), q)
    query = select(TranscriptSegment, Room.name).join(Room, Room.id == TranscriptSegment.room_id).where(
        TranscriptSegment.search.op("@@")(tsquery))
    if user.role != "admin":
        query = query.where(TranscriptSegment.room_id.in_(_readable_rooms(user)))
    if room_id is not None:
        query = query.where(TranscriptSegment.room_id == room_id)
    if speaker:
        query = query.where(or_(TranscriptSegment.speaker == speaker,
                                func.lower(TranscriptSegment.speaker_name) == speaker.lower()))
    query = _in_range(query, _window(user, start), end)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rank = func.ts_rank(TranscriptSegment.search, tsquery)
    headline = func.ts_headline(literal_column("'simple'::regconfig"), TranscriptSegment.text, tsquery)
    rows: Sequence[tuple[TranscriptSegment, str, float, str]] = (await session.execute(
        query.add_columns(rank, headline).order_by(rank.desc(), TranscriptSegment.spoken_at.desc())
        .limit(limit).offset(offset)
    )).all()
    return SearchPage(total=total or 0, items=[
        SearchHit(segment=SegmentOut.model_validate(seg), room_name=name, rank=float(r), headline=h)
        for seg, name, r, h in rows
    ])
