"""auth_sessions.end_reason: why a refresh token stopped working (logout, rotated, reuse_detected,
revoked, expired), so a refresh after logout is told apart from a replayed rotated token (D10).

Existing ended sessions are backfilled: ``rotated`` when they have a successor, else ``revoked``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_sessions", sa.Column("end_reason", sa.String(16)))
    op.execute("UPDATE auth_sessions SET end_reason = CASE WHEN replaced_by IS NULL THEN 'revoked' ELSE 'rotated' END "
               "WHERE revoked_at IS NOT NULL")


def downgrade() -> None:
    op.drop_column("auth_sessions", "end_reason")
