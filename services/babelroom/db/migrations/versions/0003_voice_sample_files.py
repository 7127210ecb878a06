"""voice_samples: the uploaded audio (stored as a FLAC file), what its checks measured, and its expiry.

``format``, ``storage_path``, ``speech_dbfs``, ``speaker_similarity``, ``expires_at`` (indexed, for the
retention job); nullable, since rows recorded before uploads existed have no file.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("voice_samples", sa.Column("format", sa.String(8)))
    op.add_column("voice_samples", sa.Column("storage_path", sa.Text))
    op.add_column("voice_samples", sa.Column("speech_dbfs", sa.Float))
    op.add_column("voice_samples", sa.Column("speaker_similarity", sa.Float))
    op.add_column("voice_samples", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.create_index("ix_voice_samples_expires_at", "voice_samples", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_voice_samples_expires_at", "voice_samples")
    for column in ("expires_at", "speaker_similarity", "speech_dbfs", "storage_path", "format"):
        op.drop_column("voice_samples", column)
