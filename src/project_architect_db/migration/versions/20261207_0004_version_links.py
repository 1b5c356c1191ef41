"""Version links: each document version stores the time of the document's version before it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:00:00

``document_churn`` counted the documents touched per period with ``count(DISTINCT
document_id)``: 85 % of the answer's time at 1M versions. The writes that copy a revision now
store ``document_versions.previous_created_at``, the ``created_at`` of the same document's
version numbered one less (NULL for its first kept version); a version is its document's first
in a period exactly when the previous one falls in another period, so the answer counts those
rows instead.

The column is nullable without a default, which DuckDB adds in place (no table rebuild). The
upgrade fills it in one set-based statement (a window over the versions of each document); the
downgrade drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: each version gets the created_at of its document's version numbered one less
BACKFILL_PREVIOUS = """
UPDATE document_versions SET previous_created_at = links.previous_created_at
FROM (
    SELECT id, version,
        lag(version) OVER history AS previous_version,
        lag(created_at) OVER history AS previous_created_at
    FROM document_versions
    WINDOW history AS (PARTITION BY document_id ORDER BY version)
) AS links
WHERE document_versions.id = links.id AND links.previous_version = links.version - 1
"""


def upgrade() -> None:
    """Add the column and fill it from the versions."""
    op.add_column(
        "document_versions", sa.Column("previous_created_at", sa.DateTime(), nullable=True)
    )
    op.execute(BACKFILL_PREVIOUS)


def downgrade() -> None:
    """Drop the column."""
    op.drop_column("document_versions", "previous_created_at")
