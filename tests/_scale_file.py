"""A migrated DuckDB file with many conversations, filled by DuckDB itself in seconds.

Used by the ``add_message`` test at scale (``test_append_at_scale.py``). Rows are generated
with ``INSERT ... SELECT FROM range()`` into the schema ``Database.open`` migrates (the style of
``benchmarks/_repo_bench.py``), then checkpointed: 1M conversations and 100k projects take
~20 s and < 1 GB of RSS, and the file ~250 MB.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import duckdb

from project_architect_db import Database

_PROJECTS = """
INSERT INTO projects (id, name, slug, description, status, phase, owner_id, tags, tech_stack,
                      architecture, metadata, created_at, updated_at, version)
SELECT uuid(), 'Project ' || i, 'scale-' || i, NULL, 'active', 'requirements', NULL, [], [],
       '{{}}', '{{}}', TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT),
       TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT), 1
FROM range({rows}) AS t(i)
"""

_CONVERSATIONS = """
INSERT INTO conversations (id, project_id, title, phase, status, summary, message_count,
                           last_message_at, metadata, created_at, updated_at)
SELECT uuid(), p.id, 'Conversation ' || t.i, 'requirements', 'active', NULL, 0, NULL, '{{}}',
       TIMESTAMP '2024-01-01' + to_seconds(t.i::BIGINT),
       TIMESTAMP '2024-01-01' + to_seconds(t.i::BIGINT)
FROM range({rows}) AS t(i)
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM projects) AS p
  ON p.k = t.i % {projects}
"""


async def fill_conversations(path: Path, conversations: int, projects: int) -> list[uuid.UUID]:
    """Create ``path`` with ``projects`` projects and ``conversations`` conversations.

    Returns the conversations' ids.
    """
    async with Database.open(path, load_fts=False):
        pass  # the schema, at the latest migration
    return await asyncio.to_thread(_fill, path, conversations, projects)


def _fill(path: Path, conversations: int, projects: int) -> list[uuid.UUID]:
    with duckdb.connect(path) as duck:
        duck.execute(_PROJECTS.format(rows=projects))
        duck.execute(_CONVERSATIONS.format(rows=conversations, projects=projects))
        duck.execute("CHECKPOINT")
        return [row[0] for row in duck.execute("SELECT id FROM conversations").fetchall()]
