"""Each table's vectors kept in memory as one matrix: a search is one matrix-vector product.

An exact scan in SQL reads every vector on every search (242 ms of CPU at 100k chunks of 384
dimensions, docs/performance.md); numpy's product over the same matrix costs a few
milliseconds. The matrix is a cache of the chunk table, not a source of truth:

* it is loaded from the table by the first search of the process (one scan);
* each drain pass that commits replaces its rows' chunks in it (only this process writes the
  chunk tables: one writer per file), and ``reset_embeddings`` clears it;
* its hits are candidates: SQL checks them against the live rows of the search's own snapshot
  (``id``, and ``version`` for documents), as the SQL path does, and reads the snippets.

Arrays are replaced, never changed in place, so a search on a worker thread reads a consistent
:class:`Block` while a drain pass swaps in the next one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from project_architect_db.search._ids import IDS, id_params
from project_architect_db.search.semantic._store import Source
from project_architect_db.search.semantic.models import SimilarHit

__all__ = ["Block", "Matrix", "concat"]


@dataclass(frozen=True, slots=True)
class Block:
    """The chunks of one table that have a vector: columns as arrays, vectors normalized."""

    ids: np.ndarray  # str (UUID text)
    versions: np.ndarray  # int64, -1 for messages
    chunks: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    stamps: np.ndarray  # datetime64[us]
    columns: Mapping[str, np.ndarray]  # the copied filter columns, as str
    vectors: np.ndarray  # float32 (n, dimension), each row of norm 1 (or 0)

    def __len__(self) -> int:
        return len(self.ids)


def _normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: np.ndarray = (vectors / norms).astype(np.float32, copy=False)
    return normalized


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return str(uuid.UUID(bytes=value))
    return str(getattr(value, "value", value))


def _block(source: Source, columns: Mapping[str, Sequence[Any]], dimension: int) -> Block:
    keep = [i for i, v in enumerate(columns["embedding"]) if v is not None]

    def pick(name: str, kind: Any) -> np.ndarray:
        values = columns[name]
        return np.array([values[i] for i in keep], dtype=kind)

    vectors = (
        np.array([columns["embedding"][i] for i in keep], dtype=np.float32).reshape(-1, dimension)
        if keep
        else np.zeros((0, dimension), np.float32)
    )
    versions = pick("version", np.int64) if source.version else np.full(len(keep), -1, np.int64)
    return Block(
        ids=np.array([_text(columns[source.key][i]) for i in keep], dtype=object),
        versions=versions,
        chunks=pick("chunk", np.int64),
        starts=pick("start", np.int64),
        ends=pick("end", np.int64),
        stamps=np.array([columns["stamp"][i] for i in keep], dtype="datetime64[us]"),
        columns={
            n: np.array([_text(columns[n][i]) for i in keep], dtype=object) for n in source.copied
        },
        vectors=_normalized(vectors),
    )


def concat(old: Block, keep: np.ndarray, new: Block) -> Block:
    """The rows ``keep`` of ``old``, then ``new``."""
    return Block(
        ids=np.concatenate([old.ids[keep], new.ids]),
        versions=np.concatenate([old.versions[keep], new.versions]),
        chunks=np.concatenate([old.chunks[keep], new.chunks]),
        starts=np.concatenate([old.starts[keep], new.starts]),
        ends=np.concatenate([old.ends[keep], new.ends]),
        stamps=np.concatenate([old.stamps[keep], new.stamps]),
        columns={n: np.concatenate([v[keep], new.columns[n]]) for n, v in old.columns.items()},
        vectors=np.concatenate([old.vectors[keep], new.vectors]),
    )


class Matrix:
    """The in-memory vectors of one source table (see the module text)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.block: Block | None = None
        #: Bumped by every replace() and clear(): a load that raced one is not kept.
        self.generation = 0
        #: On a lake, the snapshot ``block`` was brought up to (``_lake.fresh_block``).
        self.snapshot: int | None = None
        #: On a lake, the chunk table's DuckLake table id (``_lake.py``), once looked up.
        self.table_id: int | None = None
        self._lock = threading.Lock()

    def load(self, con: Any, dimension: int) -> Block:
        """The block; the first caller reads it from the chunk table.

        The read runs on a cursor of its own, so its snapshot starts now, after the
        generation was noted: a drain pass committing meanwhile bumps it, and the block read
        is used for this search only.
        """
        block = self.block
        if block is not None:
            return block
        generation = self.generation
        cursor = con.cursor()
        try:
            block = self.read(cursor, dimension)
        finally:
            cursor.close()
        with self._lock:
            if self.generation == generation and self.block is None:
                self.block = block
        return block

    def read(self, con: Any, dimension: int, ids: Sequence[uuid.UUID] | None = None) -> Block:
        """The chunks with a vector in ``con``'s snapshot (only those of ``ids`` if given)."""
        source = self.source
        names = [source.key, "chunk", "start", "end", "stamp", *source.copied, "embedding"]
        if source.version:
            names.append("version")
        select = ", ".join(f'"{n}"' for n in names)
        where = "" if ids is None else f" AND {source.key} IN (SELECT unnest($ids::UUID[]))"
        rows = con.execute(
            f"SELECT {select} FROM {source.chunks} WHERE embedding IS NOT NULL{where}",
            {} if ids is None else {"ids": list(ids)},
        ).fetchnumpy()
        columns: dict[str, Sequence[Any]] = {n: list(rows[n]) for n in names if n != "embedding"}
        columns["embedding"] = [np.asarray(v, np.float32) for v in rows["embedding"]]
        return _block(source, columns, dimension)

    def replace(
        self, ids: Sequence[uuid.UUID], columns: Mapping[str, Sequence[Any]], dim: int
    ) -> None:
        """After a commit: the chunks of ``ids`` are now these (``write_chunks``' columns)."""
        with self._lock:
            self.generation += 1
            old = self.block
            if old is None:  # not loaded: the first search reads the table
                return
            gone = np.isin(old.ids, [str(i) for i in ids])
            self.block = concat(old, ~gone, _block(self.source, columns, dim))

    def keep(self, old: Block | None, new: Block, snapshot: int) -> None:
        """On a lake: ``new`` is ``old`` brought up to ``snapshot``; kept unless raced."""
        with self._lock:
            if self.block is old:
                self.block = new
                self.snapshot = snapshot

    def clear(self) -> None:
        """Forget everything (the next search reads the table again)."""
        with self._lock:
            self.generation += 1
            self.block = None
            self.snapshot = None


def search(
    con: Any,
    block: Block,
    source: Source,
    vector: Sequence[float],
    filters: Mapping[str, Any],
    k: int,
    chars: int,
    *,
    read: bool = True,
) -> list[SimilarHit]:
    """The ``k`` best live chunks: candidates from the matrix, checked and read in SQL.

    ``read`` False: the candidates are checked by id (and version) only and the hits' snippets
    are empty (hybrid search reads the text of the few rows it keeps).
    """
    mask = _mask(block, filters)
    index = np.flatnonzero(mask) if mask is not None else np.arange(len(block))
    if index.size == 0:
        return []
    query = np.asarray(vector, np.float32)
    query = query / (np.linalg.norm(query) or 1.0)
    vectors = block.vectors if mask is None else block.vectors[index]
    # einsum, not ``@``: as fast (the product is bound by memory: ~7 ms for 100k x 384) but on
    # this thread alone; BLAS wakes its own threads, which then spin for a while after the
    # product and took a core from the BM25 half running beside it (hybrid: 74 -> 61 ms p50)
    scores = np.einsum("ij,j->i", vectors, query)
    n = k * 4 + 16
    while True:
        take = min(n, index.size)
        best = np.argpartition(-scores, take - 1)[:take] if take < index.size else np.arange(take)
        order = sorted(best.tolist(), key=lambda i: (-scores[i], block.ids[index[i]]))
        rows = [int(index[i]) for i in order]
        hits = _check(con, block, source, rows, scores[order], chars if read else None, k)
        if len(hits) >= k or take >= index.size:
            return hits[:k]
        n *= 8


def _mask(block: Block, filters: Mapping[str, Any]) -> np.ndarray | None:
    mask: np.ndarray | None = None
    for name, value in filters.items():
        if name == "since":
            part = block.stamps >= np.datetime64(_naive(value), "us")
        elif name == "until":
            part = block.stamps < np.datetime64(_naive(value), "us")
        else:
            part = block.columns[name] == str(getattr(value, "value", value))
        mask = part if mask is None else mask & part
    return mask


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def _check(
    con: Any,
    block: Block,
    source: Source,
    rows: list[int],
    scores: np.ndarray,
    chars: int | None,
    k: int,
) -> list[SimilarHit]:
    """The first ``k`` candidates whose row (and version) is live in this snapshot.

    ``chars`` None: no snippet, and the check reads the rows' ids (and versions) only.
    The lists are bound as one comma-joined string each: DuckDB 1.5.5 converts a bound
    Python list value by value (~15-60 us each: 416 candidates cost 30-100 ms; one string,
    under 1 ms).
    """
    ids = [block.ids[i] for i in rows]
    if chars is None:
        live = _live(con, source, ids)
        keys = zip(ids, block.versions[rows].tolist(), strict=True) if source.version else ids
        found = {pos: "" for pos, key in enumerate(keys) if key in live}
    else:
        found = _snippets(con, block, source, rows, chars)
    document = source.table == "documents"
    hits: list[SimilarHit] = []
    for pos, i in enumerate(rows):
        if pos not in found:
            continue
        if len(hits) == k:  # (a hit is a model: the ones past k are not built)
            break
        row_id = uuid.UUID(block.ids[i])
        hits.append(
            SimilarHit(
                kind="document" if document else "message",
                id=row_id,
                project_id=uuid.UUID(block.columns["project_id"][i]),
                conversation_id=None
                if document
                else uuid.UUID(block.columns["conversation_id"][i]),
                document_id=row_id if document else None,
                version=int(block.versions[i]) if document else None,
                chunk=int(block.chunks[i]),
                start=int(block.starts[i]),
                end=int(block.ends[i]),
                score=float(scores[pos]),
                snippet=found[pos] or "",
            )
        )
    return hits


def _joined(values: Iterable[Any]) -> str:
    return ",".join(str(v) for v in values)


def _live(con: Any, source: Source, ids: list[str]) -> set[Any]:
    """The ids (``(id, version)`` for documents) of the live rows among ``ids``."""
    version = f", r.{source.version}" if source.version else ""
    sql = f"SELECT r.id::VARCHAR{version} FROM {source.table} r WHERE r.id IN (SELECT {IDS})"
    rows = con.execute(sql, id_params(ids, scan=True)).fetchall()
    return {(r[0], r[1]) for r in rows} if source.version else {r[0] for r in rows}


def _snippets(
    con: Any, block: Block, source: Source, rows: list[int], chars: int
) -> dict[int, str]:
    """Position in ``rows`` -> the chunk's snippet, for the live candidates only."""
    version = f" AND r.{source.version} = h.version" if source.version else ""
    sql = f"""
WITH h AS (SELECT unnest(string_split($ids, ',')::UUID[]) AS id,
                  unnest(string_split($versions, ',')::BIGINT[]) AS version,
                  unnest(string_split($starts, ',')::BIGINT[]) AS start,
                  unnest(string_split($ends, ',')::BIGINT[]) AS "end",
                  unnest(range($n)) AS pos)
SELECT h.pos, substr(r.{source.text}, h.start + 1, least(h."end" - h.start, $chars))
FROM h JOIN {source.table} r ON r.id = h.id{version}"""
    params = {
        "ids": _joined(block.ids[i] for i in rows),
        "versions": _joined(block.versions[rows].tolist()),
        "starts": _joined(block.starts[rows].tolist()),
        "ends": _joined(block.ends[rows].tolist()),
        "n": len(rows),
        "chars": chars,
    }
    return dict(con.execute(sql, params).fetchall())
