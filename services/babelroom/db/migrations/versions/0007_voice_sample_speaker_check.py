"""The one-speaker check of voice samples as a background job (issue 10): ``voice_samples.speaker_check``
(``pending`` until the ``babelroom.check_voice_sample`` job ran, then ``passed`` or ``failed``); samples
checked at upload before this revision are ``passed``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("voice_samples", sa.Column("speaker_check", sa.String(16), nullable=False,
                                             server_default=sa.text("'pending'")))
    op.execute("UPDATE voice_samples SET speaker_check = 'passed'")


def downgrade() -> None:
    op.drop_column("voice_samples", "speaker_check")
