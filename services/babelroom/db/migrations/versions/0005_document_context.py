"""Document context (issue 11): documents.terms and chunk_count, document_chunks with a MiniLM embedding
(pgvector ``vector(384)``, HNSW index for cosine distance).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("terms", pg.ARRAY(sa.Text()), nullable=False,
                                         server_default=sa.text("'{}'::text[]")))
    op.add_column("documents", sa.Column("chunk_count", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_index("ix_documents_room_id", "documents", ["room_id"])
    op.create_table(
        "document_chunks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", pg.UUID(as_uuid=True), sa.ForeignKey("documents.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("terms", pg.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'::text[]")),
    )
    op.execute("ALTER TABLE document_chunks ADD COLUMN embedding vector(384) NOT NULL")  # all-MiniLM-L6-v2
    op.create_index("ix_document_chunks_document_id", "document_chunks", ["document_id"])
    op.create_index("ix_document_chunks_embedding", "document_chunks", ["embedding"], postgresql_using="hnsw",
                    postgresql_ops={"embedding": "vector_cosine_ops"})


def downgrade() -> None:
    op.drop_table("document_chunks")
    op.drop_index("ix_documents_room_id", table_name="documents")
    op.drop_column("documents", "chunk_count")
    op.drop_column("documents", "terms")
