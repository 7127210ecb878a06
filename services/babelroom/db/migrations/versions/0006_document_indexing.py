"""Document indexing as a background job (issue 11): ``documents.text`` (what the ``babelroom.index_document``
job chunks and embeds) and ``documents.index_status`` (``pending`` until the job ran, then ``indexed`` or
``failed``); documents indexed at upload before this revision are ``indexed``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("text", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("index_status", sa.String(16), nullable=False,
                                         server_default=sa.text("'pending'")))
    op.execute("UPDATE documents SET index_status = 'indexed'")


def downgrade() -> None:
    op.drop_column("documents", "index_status")
    op.drop_column("documents", "text")
