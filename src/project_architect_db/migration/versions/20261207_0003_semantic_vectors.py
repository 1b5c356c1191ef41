"""Semantic search: chunk embeddings of documents and messages, and the model that made them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 18:50:00

* ``document_chunks``: one row per chunk of a document's current version (``document_id``,
  ``version``, ``chunk``, character offsets ``start`` / ``end`` into its content), with the
  filter columns copied (``project_id``, ``doc_type``, ``stamp`` = the version's
  ``updated_at``) and the vector. A new version replaces the document's chunks.
* ``message_chunks``: the same for messages (append-only: no version).
* ``semantic_state``: one row per source table (``documents`` / ``messages``) with the
  embedding queue's high-water mark, and one row ``model`` with the model name and dimension
  every stored vector was made with (a different embedder is refused).

Vectors are ``REAL[]`` lists, not ``FLOAT[n]`` arrays: the dimension belongs to the embedder,
which the schema cannot know, and a DuckLake lake stores lists. No index: an exact scan, see
docs/architecture.md ("Semantic search: vectors"). On a lake the primary keys are left out by
the lake's dialect (``migration/_lake.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _chunk_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("stamp", sa.DateTime(), nullable=False),
        sa.Column("embedding", sa.ARRAY(sa.REAL()), nullable=True),
    ]


def upgrade() -> None:
    """Create the three tables (empty: the background queue fills them)."""
    op.create_table(
        "document_chunks",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=True),
        *_chunk_columns(),
    )
    op.create_table(
        "message_chunks",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        *_chunk_columns(),
    )
    op.create_table(
        "semantic_state",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("hwm", sa.DateTime(), nullable=True),
        sa.Column("model", sa.String(), nullable=True),
        sa.Column("dimension", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("semantic_state_key_pkey")),
    )


def downgrade() -> None:
    """Drop the three tables (the vectors are derived data)."""
    op.drop_table("semantic_state")
    op.drop_table("message_chunks")
    op.drop_table("document_chunks")
