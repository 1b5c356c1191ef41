"""Reply links: each assistant reply stores the time of the question it answers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 13:00:00

``reply_latency`` paired every message with the next one of its thread (a window function over
all messages: 18-27 s at 10M messages). The appends now store the pair when they write it:

* ``messages.asked_at``: for an assistant message whose predecessor in the thread (``sequence -
  1``) is a user message, that message's ``created_at``; NULL otherwise;
* ``conversations.awaiting_reply_since``: the ``created_at`` of the thread's last message when it
  is a user message, NULL otherwise (what the next append needs to set ``asked_at``).

Both columns are nullable without a default, which DuckDB adds in place (no table rebuild). The
upgrade fills them from the messages in two set-based statements; the downgrade drops them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: an assistant message right after a user message gets that message's time
BACKFILL_ASKED_AT = """
UPDATE messages SET asked_at = pairs.asked_at
FROM (
    SELECT id, role,
        lag(role) OVER thread AS previous_role,
        lag(created_at) OVER thread AS asked_at
    FROM messages
    WINDOW thread AS (PARTITION BY conversation_id ORDER BY sequence)
) AS pairs
WHERE messages.id = pairs.id AND pairs.role = 'assistant' AND pairs.previous_role = 'user'
"""
#: a thread whose last message is a user's is waiting for a reply since then
BACKFILL_AWAITING = """
UPDATE conversations SET awaiting_reply_since = last.created_at
FROM (
    SELECT conversation_id, arg_max(role, sequence) AS role,
        arg_max(created_at, sequence) AS created_at
    FROM messages GROUP BY conversation_id
) AS last
WHERE conversations.id = last.conversation_id AND last.role = 'user'
"""


def upgrade() -> None:
    """Add the two columns and fill them from the messages."""
    op.add_column("messages", sa.Column("asked_at", sa.DateTime(), nullable=True))
    op.add_column("conversations", sa.Column("awaiting_reply_since", sa.DateTime(), nullable=True))
    op.execute(BACKFILL_ASKED_AT)
    op.execute(BACKFILL_AWAITING)


def downgrade() -> None:
    """Drop the two columns."""
    op.drop_column("conversations", "awaiting_reply_since")
    op.drop_column("messages", "asked_at")
