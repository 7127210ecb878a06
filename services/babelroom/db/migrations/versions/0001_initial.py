"""Initial schema: pgvector, tiers (seeded with the design's table), accounts, rooms, transcripts.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
JSONB_EMPTY = sa.text("'{}'::jsonb")
SEARCH_EXPRESSION = (
    "to_tsvector('simple'::regconfig, coalesce(text, '')) || "
    "jsonb_to_tsvector('simple'::regconfig, translations, '[\"string\"]'::jsonb)"
)

# The design's tiers. NULL = unlimited. Enterprise terms are custom per organisation (limit_overrides);
# until set, an enterprise account has pro's limits, no request cap and unlimited voice samples.
ALL = {"quick_audio": True}
TIERS = [
    dict(name="free", rank=0, room_minutes=60, participants_per_room=6, concurrent_rooms=2, history_days=7,
         requests_per_hour=100, voice_samples=0, vocabulary_terms=0, custom=False,
         features={**ALL, "voice_clone": False, "diarization": False, "document_context": False}),
    dict(name="premium", rank=1, room_minutes=180, participants_per_room=10, concurrent_rooms=5, history_days=30,
         requests_per_hour=500, voice_samples=5, vocabulary_terms=0, custom=False,
         features={**ALL, "voice_clone": True, "diarization": False, "document_context": False}),
    dict(name="pro", rank=2, room_minutes=None, participants_per_room=20, concurrent_rooms=10, history_days=90,
         requests_per_hour=2000, voice_samples=None, vocabulary_terms=1000, custom=False,
         features={**ALL, "voice_clone": True, "diarization": True, "document_context": True}),
    dict(name="enterprise", rank=3, room_minutes=None, participants_per_room=20, concurrent_rooms=10,
         history_days=90, requests_per_hour=None, voice_samples=None, vocabulary_terms=1000, custom=True,
         features={**ALL, "voice_clone": True, "diarization": True, "document_context": True}),
]


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    tiers = op.create_table(
        "tiers",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        *(sa.Column(n, sa.Integer) for n in ("room_minutes", "participants_per_room", "concurrent_rooms",
                                              "history_days", "requests_per_hour", "voice_samples",
                                              "vocabulary_terms")),
        sa.Column("features", pg.JSONB, nullable=False, server_default=JSONB_EMPTY),
        sa.Column("custom", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.bulk_insert(tiers, TIERS)

    op.create_table(
        "organisations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("limit_overrides", pg.JSONB, nullable=False, server_default=JSONB_EMPTY),
        _created_at(),
    )
    op.create_table(
        "users",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("tier_name", sa.String(32), sa.ForeignKey("tiers.name"), nullable=False, server_default="free"),
        sa.Column("organisation_id", UUID, sa.ForeignKey("organisations.id", ondelete="SET NULL")),
        sa.Column("limit_overrides", pg.JSONB, nullable=False, server_default=JSONB_EMPTY),
        sa.Column("vocabulary", pg.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _created_at(),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("replaced_by", UUID),
        sa.Column("client_ip", sa.String(64)),
    )
    op.create_table(
        "rooms",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("warned_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("close_reason", sa.String(32)),
    )
    op.create_index("ix_rooms_open_expiry", "rooms", ["status", "expires_at"])
    op.create_table(
        "room_participants",
        sa.Column("room_id", UUID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("speaker", sa.Boolean, nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True)),
        sa.Column("left_reason", sa.String(32)),
    )
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("room_id", UUID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("speaker", sa.String(128), nullable=False),
        sa.Column("speaker_name", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("room_seq", sa.Integer, nullable=False),
        sa.Column("segment_id", sa.String(64), nullable=False),
        sa.Column("audio_start_ms", sa.Integer, nullable=False),
        sa.Column("audio_end_ms", sa.Integer, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("translations", pg.JSONB, nullable=False, server_default=JSONB_EMPTY),
        sa.Column("backends", pg.JSONB, nullable=False, server_default=JSONB_EMPTY),
        sa.Column("confidence", sa.Float),
        sa.Column("spoken_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.Column("search", pg.TSVECTOR, sa.Computed(SEARCH_EXPRESSION, persisted=True)),
        sa.UniqueConstraint("room_id", "speaker", "seq", name="uq_transcript_segments_room_speaker_seq"),
    )
    op.create_index("ix_transcript_segments_room_seq", "transcript_segments", ["room_id", "room_seq"])
    op.create_index("ix_transcript_segments_spoken_at", "transcript_segments", ["spoken_at"])
    op.create_index("ix_transcript_segments_search", "transcript_segments", ["search"], postgresql_using="gin")
    op.create_table(
        "voice_samples",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        _created_at(),
    )
    op.create_table(
        "documents",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("room_id", UUID, sa.ForeignKey("rooms.id", ondelete="SET NULL")),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        _created_at(),
    )


def downgrade() -> None:
    for table in ("documents", "voice_samples", "transcript_segments", "room_participants", "rooms",
                  "auth_sessions", "users", "organisations", "tiers"):
        op.drop_table(table)
    op.execute("DROP EXTENSION IF EXISTS vector")
