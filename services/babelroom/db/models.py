"""The relational model (SQLAlchemy 2, typed declarative mapping).

Tables: ``tiers`` (limits and feature flags as data, seeded by the first migration), ``organisations``,
``users``, ``auth_sessions`` (one row per refresh token), ``rooms``, ``room_participants``,
``transcript_segments`` (one row per final, unique per room + speaker + per-speaker seq),
``voice_samples`` (checked uploads, the audio stored as files), ``documents`` (a room's context documents:
their domain terms) and ``document_chunks`` (their text in pieces with a MiniLM embedding, pgvector, HNSW index).

Conventions: times are ``timestamptz`` (UTC); a NULL limit means "unlimited"; ``limit_overrides`` (JSONB,
on organisations and users) replaces any tier limit by name, which is how enterprise terms are set.
The migrations in ``migrations/versions`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import UserDefinedType

#: Every limit a tier (or an override) sets, with the unit in the name.
LIMIT_NAMES = (
    "room_minutes",
    "participants_per_room",
    "concurrent_rooms",
    "history_days",
    "requests_per_hour",
    "voice_samples",
    "vocabulary_terms",
)
#: Feature flags a tier carries in ``tiers.features``.
FEATURE_NAMES = ("quick_audio", "voice_clone", "diarization", "document_context")

#: The full-text document of a segment: its original text and every translation ('simple' dictionary,
#: since segments come in every language).
SEARCH_EXPRESSION = (
    "to_tsvector('simple'::regconfig, coalesce(text, '')) || "
    "jsonb_to_tsvector('simple'::regconfig, translations, '[\"string\"]'::jsonb)"
)


#: Dimensions of the document-chunk embeddings (all-MiniLM-L6-v2).
EMBEDDING_DIMENSIONS = 384


class Vector(UserDefinedType[list[float]]):
    """pgvector's ``vector(n)``: bound from a list of floats (sent as its text form, ``[0.1,0.2]``), read back as
    a list of floats."""

    cache_ok = True

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions

    def get_col_spec(self, **_: Any) -> str:
        return f"vector({self.dimensions})"

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: list[float] | None) -> str | None:
            return None if value is None else "[" + ",".join(f"{float(v):.7g}" for v in value) + "]"
        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: str | None) -> list[float] | None:
            return None if value is None else [float(v) for v in value.strip("[]").split(",") if v]
        return process


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Tier(Base):
    """A subscription tier: its limits (NULL = unlimited) and feature flags."""

    __tablename__ = "tiers"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, doc="Order from free (0) upwards")
    room_minutes: Mapped[int | None] = mapped_column(Integer)
    participants_per_room: Mapped[int | None] = mapped_column(Integer)
    concurrent_rooms: Mapped[int | None] = mapped_column(Integer)
    history_days: Mapped[int | None] = mapped_column(Integer)
    requests_per_hour: Mapped[int | None] = mapped_column(Integer)
    voice_samples: Mapped[int | None] = mapped_column(Integer)
    vocabulary_terms: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[dict[str, bool]] = mapped_column(JSONB, nullable=False, server_default=sql("'{}'::jsonb"))
    custom: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=sql("false"), doc="Limits are negotiated per organisation"
    )


class Organisation(Base):
    """A customer organisation; its ``limit_overrides`` apply to every member."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    limit_overrides: Mapped[dict[str, int | None]] = mapped_column(
        JSONB, nullable=False, server_default=sql("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = _now()


class User(Base):
    """An account. ``role`` is ``user`` or ``admin``."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False, doc="Lower-cased")
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, server_default="user")
    tier_name: Mapped[str] = mapped_column(ForeignKey("tiers.name"), nullable=False, server_default="free")
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    limit_overrides: Mapped[dict[str, int | None]] = mapped_column(
        JSONB, nullable=False, server_default=sql("'{}'::jsonb")
    )
    vocabulary: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=sql("'{}'::text[]"), doc="Custom vocabulary terms"
    )
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql("false"))
    created_at: Mapped[datetime] = _now()

    tier: Mapped[Tier] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class AuthSession(Base):
    """One refresh token. Ending it stamps ``revoked_at`` and ``end_reason`` (a
    :class:`babelroom.auth.sessions.SessionEnd`); refreshing ends it as ``rotated`` and points ``replaced_by``
    at its successor. Presenting a rotated one again ends every session of the user (a stolen token is
    being replayed); presenting one ended otherwise (a logout) is only refused."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, doc="The refresh token's jti")
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    end_reason: Mapped[str | None] = mapped_column(String(16), doc="Why it ended; NULL while it is live")
    client_ip: Mapped[str | None] = mapped_column(String(64))


class Room(Base):
    """A call. ``expires_at`` is NULL for unlimited rooms; the gateway warns at ``expires_at`` minus
    ``room_warning_s`` (stamping ``warned_at``) and closes it at ``expires_at``."""

    __tablename__ = "rooms"
    __table_args__ = (Index("ix_rooms_open_expiry", "status", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open", doc="open | closed")
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    close_reason: Mapped[str | None] = mapped_column(String(32), doc="closed | expired")
    diarization: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql("false"),
                                              doc="Speaker labels inside each participant's audio (Pro, opt-in)")

    owner: Mapped[User] = relationship(lazy="joined")


class RoomParticipant(Base):
    """A user admitted to a room; ``left_at`` is set when they leave (or vanish, or the room closes)."""

    __tablename__ = "room_participants"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    speaker: Mapped[bool] = mapped_column(Boolean, nullable=False, doc="Holds a speaking-stream slot")
    joined_at: Mapped[datetime] = _now()
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    left_reason: Mapped[str | None] = mapped_column(String(32), doc="left | closed | expired | heartbeat")

    user: Mapped[User] = relationship(lazy="joined")


class TranscriptSegment(Base):
    """One final of the pipeline with all its translations. ``spoken_at`` is the wall-clock end of
    its speech; ``confidence`` is ``exp(avg_logprob)`` of the Whisper hypothesis."""

    __tablename__ = "transcript_segments"
    __table_args__ = (
        UniqueConstraint("room_id", "speaker", "seq", name="uq_transcript_segments_room_speaker_seq"),
        Index("ix_transcript_segments_room_seq", "room_id", "room_seq"),
        Index("ix_transcript_segments_spoken_at", "spoken_at"),
        Index("ix_transcript_segments_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False)
    speaker: Mapped[str] = mapped_column(String(128), nullable=False, doc="Participant (user) id")
    speaker_name: Mapped[str] = mapped_column(String(128), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, doc="Per-speaker segment number")
    room_seq: Mapped[int] = mapped_column(Integer, nullable=False, doc="Room-wide final number")
    segment_id: Mapped[str] = mapped_column(String(64), nullable=False)
    audio_start_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    audio_end_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    translations: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=sql("'{}'::jsonb"), doc="language → text"
    )
    backends: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=sql("'{}'::jsonb"), doc="language → translator"
    )
    confidence: Mapped[float | None] = mapped_column(Float)
    spoken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    speaker_label: Mapped[str | None] = mapped_column(String(32), doc="Diarization: Speaker N inside the participant")
    created_at: Mapped[datetime] = _now()
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True))


class VoiceSample(Base):
    """A voice-clone reference recording, checked on upload (:mod:`babelroom.voice.samples`) and then for one
    speaker by the ``babelroom.check_voice_sample`` job (:mod:`babelroom.jobs.voice_check`); its audio is
    a FLAC file at ``storage_path`` under ``voice_sample_dir``. Deleted at ``expires_at`` (the owner's
    ``history_days`` when it was uploaded; NULL: kept until deleted)."""

    __tablename__ = "voice_samples"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    duration_s: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = _now()
    format: Mapped[str | None] = mapped_column(String(8), doc="Container uploaded: wav, flac, ogg, mp3, webm")
    storage_path: Mapped[str | None] = mapped_column(Text, doc="The stored FLAC, relative to voice_sample_dir")
    speech_dbfs: Mapped[float | None] = mapped_column(Float, doc="RMS of the active speech (dBFS)")
    speaker_similarity: Mapped[float | None] = mapped_column(Float, doc="Cosine of the two halves' speakers")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    speaker_check: Mapped[str] = mapped_column(String(16), nullable=False, server_default=sql("'pending'"),
                                               doc="The one-speaker check (a jobs-image task): pending, passed, "
                                                   "failed; only passed samples are cloned")


class Document(Base):
    """A context document of a room (``POST /api/rooms/{id}/documents``, :mod:`babelroom.api.documents`):
    ``terms`` are its domain terms, most salient first (:mod:`babelroom.context.terms`); its text is cut into
    :class:`DocumentChunk` rows by the ``babelroom.index_document`` job (:mod:`babelroom.jobs.context`)."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(128), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now()
    terms: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=sql("'{}'::text[]"),
                                             doc="Domain terms, most salient first")
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=sql("0"))
    text: Mapped[str | None] = mapped_column(Text, doc="The extracted text, chunked and embedded by the "
                                             "babelroom.index_document job")
    index_status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=sql("'pending'"),
                                              doc="pending (the job has not run), indexed or failed")


class DocumentChunk(Base):
    """One piece of a document's text (about ``document_chunk_words`` words, overlapping its neighbours), its
    MiniLM embedding (unit length: cosine distance ``<=>`` ranks them) and the document terms it holds."""

    __tablename__ = "document_chunks"
    __table_args__ = (
        Index("ix_document_chunks_embedding", "embedding", postgresql_using="hnsw",
              postgresql_ops={"embedding": "vector_cosine_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False,
                                                   index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, doc="Position in the document, from 0")
    text: Mapped[str] = mapped_column(Text, nullable=False)
    terms: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=sql("'{}'::text[]"))
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=False)
