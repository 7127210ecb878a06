"""Diarization (issue 11): rooms.diarization (opt-in, Pro) and transcript_segments.speaker_label.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("diarization", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("transcript_segments", sa.Column("speaker_label", sa.String(32)))


def downgrade() -> None:
    op.drop_column("transcript_segments", "speaker_label")
    op.drop_column("rooms", "diarization")
