"""Semantic search on a DuckLake lake: one drainer at a time, matrices fresh at each search.

See docs/architecture.md, "Semantic search on a lake". Several OS processes share the lake's
chunk tables; they share nothing else but PostgreSQL. Two things differ from a file:

* **Draining** (``QUEUE_KEY``): a drain pass (read what waits, embed, write the chunks and the
  high-water mark) holds one PostgreSQL advisory lock, the same key in every process, from
  before its reading transaction begins until after its writing one committed. DuckLake takes
  a transaction's snapshot at its first read, so a pass that got the lock sees the chunks every
  earlier pass committed: no row is embedded twice into duplicate chunks, and the chunk tables'
  ``DELETE`` / ``INSERT`` never meet DuckLake's per-table conflicts. A process killed mid-pass
  loses its session, hence the lock, and its uncommitted lake transaction: the rows still wait.
* **The kept matrices** (``fresh_block``): other processes write chunks too, so each search
  brings its process's matrix up to the search's own snapshot: the chunk ids that changed since
  the matrix's snapshot (``ducklake_table_changes``) are read again, or the table is re-read
  when most of it changed (or the history is gone).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np

from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.search.semantic._matrix import Block, Matrix, concat
from project_architect_db.search.semantic._store import Source

__all__ = ["QUEUE_KEY", "fresh_block", "newest_snapshot", "queue_hold", "snapshot_of"]

QUEUE_KEY = "padb:semantic-queue"
"""The catalog lock every drain pass, model record and reset holds, in every process."""

#: Above this share of the block's rows changed, re-reading the table is the cheaper way.
RELOAD_SHARE = 0.5


def queue_hold(guard: Any, wait: float) -> contextlib.AbstractAsyncContextManager[Any]:
    """Hold the queue's catalog lock (every process) for the block; on a file, nothing.

    Raises:
        ConflictError: Another process held it for ``wait`` seconds (retry).
        DatabaseError: The catalog cannot be reached.
    """
    if guard is None:
        return contextlib.nullcontext()
    hold: contextlib.AbstractAsyncContextManager[Any] = guard.hold(
        exclusive=[QUEUE_KEY], lock_timeout=wait
    )
    return hold


def snapshot_of(con: Any) -> int:
    """The lake snapshot the transaction on ``con`` reads."""
    sql = f"SELECT id FROM ducklake_current_snapshot('{LAKE_ALIAS}')"
    return int(con.execute(sql).fetchone()[0])


async def newest_snapshot(guard: Any) -> int:
    """The lake's newest snapshot id, read from the catalog (one PostgreSQL round trip)."""
    value = await guard.pool.fetchval("SELECT coalesce(max(snapshot_id), 0) FROM ducklake_snapshot")
    return int(value)


def fresh_block(con: Any, matrix: Matrix, dimension: int) -> Block:
    """``matrix``'s block as of the snapshot of ``con``'s transaction (kept when not raced)."""
    snapshot = snapshot_of(con)
    block, seen = matrix.block, matrix.snapshot
    if block is not None and seen is not None and seen >= snapshot:
        return block
    touched = None if block is None or seen is None else _changed(con, matrix.source, seen, snapshot)
    if touched is None or len(touched) > max(64, RELOAD_SHARE * len(block or ())):
        new = matrix.read(con, dimension)
    elif touched:
        assert block is not None
        gone = np.isin(block.ids, [str(i) for i in touched])
        new = concat(block, ~gone, matrix.read(con, dimension, ids=touched))
    else:
        new = block
    matrix.keep(block, new, snapshot)
    return new


def _changed(con: Any, source: Source, seen: int, snapshot: int) -> Sequence[uuid.UUID] | None:
    """Ids whose chunks changed after ``seen`` up to ``snapshot``; None: history expired.

    Read on a cursor of its own (a failed statement would abort the search's transaction);
    the range is explicit, so the cursor's newer snapshot does not widen it.
    """
    cursor = con.cursor()
    try:
        rows = cursor.execute(
            f"SELECT DISTINCT {source.key} FROM ducklake_table_changes("
            f"'{LAKE_ALIAS}', 'main', '{source.chunks}', ?, ?)",
            [seen + 1, snapshot],
        ).fetchall()
    except duckdb.Error:  # snapshots expired by db-vacuum: read the table again
        return None
    finally:
        cursor.close()
    return [row[0] for row in rows]
