"""The embedding queue: the rows' own change stamps plus a persisted high-water mark.

Nothing is written beside a row when it is written (zero cost for writers). What waits to be
embedded is computed from the rows themselves: the rows stamped at or after ``hwm - window``
that have no chunks for their ``(id, version)``. ``hwm`` (``semantic_state``) is the newest
stamp embedded so far; it is moved in the same transaction as the chunks it covers, so a crash
anywhere leaves rows waiting, never lost (at least once), and writing a row's chunks again
replaces them (idempotent). The window covers transactions that commit out of stamp order: a
row stamped before ``hwm`` is still found if its stamp is at most ``window`` older.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from project_architect_db.search.semantic import _store
from project_architect_db.search.semantic._chunks import chunk_spans
from project_architect_db.search.semantic._embedder import Embedder, embed
from project_architect_db.search.semantic._matrix import Matrix
from project_architect_db.search.semantic._store import Pending, Source

__all__ = ["drain_pass"]


async def drain_pass(
    executor: Any,
    embedder: Embedder,
    source: Source,
    batch: int,
    window: timedelta,
    matrix: Matrix | None = None,
    check: Callable[[Any, dict[str, Any]], None] | None = None,
) -> datetime | None:
    """Embed the oldest ``batch`` waiting rows of ``source``; the first one's stamp, or None.

    Reads in one transaction, embeds outside any (the embedder may take seconds), writes the
    chunks and the new high-water mark in a second one. ``check(con, state)`` runs first in
    the reading transaction (on a lake: the recorded model, which another process may change).
    """

    def read(con: Any) -> list[Pending]:
        state = _store.read_state(con)
        if check is not None:
            check(con, state)
        hwm = state.get(source.table, (None, None, None))[0]
        since = _store.EPOCH if hwm is None else hwm - window
        return _store.pending(con, source, since, batch)

    async with executor.transaction() as tx:
        rows = await tx.run_native(read)
    if not rows:
        return None
    spans = [chunk_spans(row.text) for row in rows]
    texts = _texts(source, rows, spans)
    vectors: np.ndarray | None = await embed(embedder, texts, "passage") if texts else None
    async with executor.transaction() as tx:
        written = await tx.run_native(
            lambda con: _store.write_chunks(con, source, rows, spans, vectors)
        )
    if matrix is not None:  # after the commit: the kept matrix follows the table
        ids = [row.id for row in rows]
        await asyncio.to_thread(matrix.replace, ids, written, embedder.dimension)
    first: datetime = rows[0].stamp
    return first


def _texts(
    source: Source, rows: Sequence[Pending], spans: Sequence[Sequence[tuple[int, int]]]
) -> list[str]:
    """The texts to embed, in the order ``write_chunks`` takes the vectors."""
    texts: list[str] = []
    for row, row_spans in zip(rows, spans, strict=True):
        for index, (start, end) in enumerate(row_spans):
            part = row.text[start:end]
            if index == 0 and row.prefix:
                texts.append(f"{row.prefix}\n\n{part}" if part else row.prefix)
            elif part:
                texts.append(part)
    return texts


async def run_alone(coro: Any) -> Any:
    """Run ``coro`` as a task of its own, so its transactions never join the caller's."""
    return await asyncio.ensure_future(coro)
