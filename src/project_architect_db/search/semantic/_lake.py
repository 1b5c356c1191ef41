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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import duckdb
import numpy as np

from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.search.semantic._embedder import mismatch
from project_architect_db.search.semantic._matrix import Block, Matrix, concat
from project_architect_db.search.semantic._store import MODEL_KEY, Source, record_model

__all__ = [
    "QUEUE_KEY",
    "fresh_block",
    "held",
    "model_check",
    "newest_snapshot",
    "queue_hold",
    "snapshot_of",
]

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


async def held(guard: Any, wait: float, make: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``make()`` holding the queue's catalog lock (on a lake; on a file, just run it).

    A factory, not a coroutine: a task cancelled before its first step never runs this
    function's body, and a coroutine made ahead would be left never awaited.
    """
    async with queue_hold(guard, wait):
        return await make()


def model_check(
    given: tuple[str, int], recorded: Callable[[tuple[str, int]], None]
) -> Callable[[Any, dict[str, Any]], None]:
    """A drain pass's check, under the queue's lock: the model recorded in the lake now.

    Another process's reset may have dropped it (recorded again, ``recorded(given)`` told);
    another process may have recorded another embedder first (refused).
    """

    def check(con: Any, state: dict[str, Any]) -> None:
        row = state.get(MODEL_KEY)
        if row is None or row[1] is None:
            record_model(con, *given)
            recorded(given)
        elif (row[1], int(row[2])) != given:
            raise mismatch((str(row[1]), int(row[2])), given)

    return check


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
    touched = None if block is None or seen is None else _changed(con, matrix, seen, snapshot)
    if block is None or touched is None or len(touched) > max(64, RELOAD_SHARE * len(block)):
        new = matrix.read(con, dimension)
    elif touched:
        gone = np.isin(block.ids, [str(i) for i in touched])
        new = concat(block, ~gone, matrix.read(con, dimension, ids=touched))
    else:
        new = block
    matrix.keep(block, new, snapshot)
    return new


def _changed(con: Any, matrix: Matrix, seen: int, snapshot: int) -> Sequence[uuid.UUID] | None:
    """Ids whose chunks changed after ``seen`` up to ``snapshot``; None: read everything.

    The snapshots' summaries first (a few ms): most commits touch other tables, and the
    chunk table's own changes cost a scan of its new rows (tens of ms).
    """
    source = matrix.source
    if matrix.table_id is None:
        matrix.table_id = _table_id(con, source.chunks)
    summaries = con.execute(
        "SELECT changes FROM ducklake_snapshots(?) WHERE snapshot_id > ? AND snapshot_id <= ?",
        [LAKE_ALIAS, seen, snapshot],
    ).fetchall()
    if len(summaries) != snapshot - seen:  # expired by db-vacuum: the history is gone
        return None
    marks = {str(matrix.table_id), f"main.{source.chunks}"}
    named = [v for (changes,) in summaries for values in changes.values() for v in values]
    if f"main.{source.chunks}" in named:  # made again (a migration): its id changed
        matrix.table_id = None
        return None
    if not marks.intersection(named):
        return []
    return _changed_ids(con, source, seen, snapshot)


def _table_id(con: Any, table: str) -> int | None:
    row = con.execute(
        "SELECT table_id FROM ducklake_table_info(?) WHERE table_name = ?", [LAKE_ALIAS, table]
    ).fetchone()
    return None if row is None else int(row[0])


def _changed_ids(con: Any, source: Source, seen: int, snapshot: int) -> list[uuid.UUID] | None:
    """The ids in the chunk table's changes after ``seen`` up to ``snapshot``.

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
    except duckdb.Error:  # pragma: no cover - the history was checked just before
        return None
    finally:
        cursor.close()
    return [row[0] for row in rows]
