"""The SQL of semantic search: what is waiting to be embedded, writing chunks, and scoring.

Everything here runs on a DuckDB connection inside a transaction the caller holds (the
executor's ``run_native``). Vectors are ``REAL[]`` lists scored with
``list_cosine_similarity`` (an exact scan; docs/architecture.md says why not HNSW).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["DOCUMENTS", "MESSAGES", "Pending", "Source"]

#: ``semantic_state`` row holding the model and dimension of the stored vectors.
MODEL_KEY = "model"
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Source:
    """One table whose rows are embedded, and the table its chunks live in."""

    table: str
    chunks: str
    key: str  # the chunk table's column holding the row's id
    stamp: str  # the row's change stamp (time-ordered in the table)
    version: str | None  # documents: a new version replaces the chunks
    copied: tuple[str, ...]  # filter columns copied into the chunks
    text: str  # the row's text (offsets point into it)
    prefix: str | None  # embedded before the first chunk (a document's title)

    def pending_sql(self) -> str:
        """Rows changed since ``$since`` that have no chunks for their version, oldest first."""
        version_match = f" AND c.version = r.{self.version}" if self.version else ""
        version_column = f"r.{self.version}" if self.version else "NULL::INTEGER"
        copied = "".join(f", r.{c}" for c in self.copied)
        prefix = f"r.{self.prefix}" if self.prefix else "NULL::VARCHAR"
        return f"""
SELECT r.id, {version_column} AS version, r.{self.stamp} AS stamp{copied},
       r.{self.text} AS txt, {prefix} AS prefix
FROM {self.table} r
WHERE r.{self.stamp} >= $since AND NOT EXISTS (
    SELECT 1 FROM {self.chunks} c
    WHERE c.stamp >= $since AND c.{self.key} = r.id{version_match})
ORDER BY r.{self.stamp}, r.id LIMIT $batch"""

    def similar_sql(self, filters: Sequence[str]) -> str:
        """The best ``$n`` chunks by cosine similarity to ``$q`` passing ``filters``.

        ``filters`` name chunk columns compared with ``= $<name>``, plus ``since`` / ``until``
        (``stamp >= $since`` / ``stamp < $until``). The chunks are then joined to the live
        rows (a deleted row, or an older version of a document, drops out).
        """
        version_match = f" AND r.{self.version} = h.version" if self.version else ""
        version_column = "c.version" if self.version else "NULL::INTEGER AS version"
        extra = ", c.conversation_id" if "conversation_id" in self.copied else ""
        return f"""
WITH h AS MATERIALIZED (
    SELECT c.{self.key} AS id, {version_column}, c.chunk, c.start, c."end", c.project_id{extra},
           list_cosine_similarity(c.embedding, $q::REAL[]) AS score
    FROM {self.chunks} c WHERE {self.where(filters)}
    ORDER BY score DESC, id, chunk LIMIT $n)
SELECT h.*, substr(r.{self.text}, h.start + 1, least(h."end" - h.start, $chars)) AS snippet
FROM h JOIN {self.table} r ON r.id = h.id{version_match}
ORDER BY h.score DESC, h.id, h.chunk"""

    def where(self, filters: Sequence[str]) -> str:
        """The condition on chunks ``c`` for ``filters`` (bound as ``$<name>``)."""
        where = ["c.embedding IS NOT NULL"]
        for name in filters:
            if name == "since":
                where.append("c.stamp >= $since")
            elif name == "until":
                where.append("c.stamp < $until")
            else:
                where.append(f"c.{name} = ${name}")
        return " AND ".join(where)


DOCUMENTS = Source(
    table="documents",
    chunks="document_chunks",
    key="document_id",
    stamp="updated_at",
    version="version",
    copied=("project_id", "doc_type"),
    text="content",
    prefix="title",
)
MESSAGES = Source(
    table="messages",
    chunks="message_chunks",
    key="message_id",
    stamp="created_at",
    version=None,  # messages are append-only: an id never changes its text
    copied=("project_id", "conversation_id"),
    text="content",
    prefix=None,
)


@dataclass(frozen=True, slots=True)
class Pending:
    """One row version waiting to be embedded."""

    id: uuid.UUID
    version: int | None
    stamp: datetime
    columns: Mapping[str, Any]
    text: str
    prefix: str | None


def read_state(con: Any) -> dict[str, tuple[Any, Any, Any]]:
    """``semantic_state`` as ``{key: (hwm, model, dimension)}``."""
    rows = con.execute("SELECT key, hwm, model, dimension FROM semantic_state").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def record_model(con: Any, model: str, dimension: int) -> None:
    """Record the model and dimension of the vectors about to be stored."""
    con.execute(
        "INSERT INTO semantic_state (key, model, dimension) VALUES ($k, $m, $d)",
        {"k": MODEL_KEY, "m": model, "d": dimension},
    )


def pending(con: Any, source: Source, since: datetime, batch: int) -> list[Pending]:
    """The oldest ``batch`` rows stamped at or after ``since`` that have no chunks yet."""
    rows = con.execute(source.pending_sql(), {"since": since, "batch": batch}).fetchall()
    n = len(source.copied)
    return [
        Pending(
            r[0],
            r[1],
            r[2],
            dict(zip(source.copied, r[3 : 3 + n], strict=True)),
            r[3 + n] or "",
            r[4 + n],
        )
        for r in rows
    ]


def write_chunks(
    con: Any,
    source: Source,
    rows: Sequence[Pending],
    spans: Sequence[Sequence[tuple[int, int]]],
    vectors: np.ndarray | None,
) -> dict[str, list[Any]]:
    """Replace the chunks of ``rows`` with these, and move the high-water mark.

    Returns the chunks written, as columns (for the in-memory matrix).

    ``vectors`` has one row per non-empty span, in order; an empty text keeps one chunk with
    a NULL vector (so it is not waiting any more, and never found).
    """
    columns: dict[str, list[Any]] = {
        source.key: [],
        "chunk": [],
        "start": [],
        "end": [],
        "stamp": [],
        "embedding": [],
    }
    if source.version:
        columns["version"] = []
    for name in source.copied:
        columns[name] = []
    position = 0
    for row, row_spans in zip(rows, spans, strict=True):
        for index, (start, end) in enumerate(row_spans):
            columns[source.key].append(row.id.bytes)
            columns["chunk"].append(index)
            columns["start"].append(start)
            columns["end"].append(end)
            columns["stamp"].append(row.stamp)
            if source.version:
                columns["version"].append(row.version)
            for name in source.copied:
                value = row.columns[name]
                columns[name].append(value.bytes if isinstance(value, uuid.UUID) else str(value))
            if end > start or (index == 0 and row.prefix):
                assert vectors is not None
                columns["embedding"].append(vectors[position])
                position += 1
            else:
                columns["embedding"].append(None)
    table = _arrow(source, columns)
    ids = [row.id for row in rows]
    con.execute(
        f"DELETE FROM {source.chunks} WHERE {source.key} IN (SELECT unnest($ids::UUID[]))",
        {"ids": ids},
    )
    names = ", ".join(f'"{n}"' for n in table.column_names)
    con.register("padb_new_chunks", table)
    try:
        con.execute(f"INSERT INTO {source.chunks} ({names}) SELECT {names} FROM padb_new_chunks")
    finally:
        con.unregister("padb_new_chunks")
    move_hwm(con, source.table, max(row.stamp for row in rows))
    return columns


def move_hwm(con: Any, key: str, hwm: datetime) -> None:
    """Raise ``key``'s high-water mark to ``hwm`` (never lower it).

    An ``UPDATE``, then an ``INSERT`` if no row had the key: a lake has no ``ON CONFLICT``.
    Only one pass at a time writes (one process per file; the queue's catalog lock on a lake).
    """
    updated = con.execute(
        "UPDATE semantic_state SET hwm = greatest(coalesce(hwm, $h), $h) WHERE key = $k",
        {"k": key, "h": hwm},
    ).fetchone()[0]
    if not updated:
        con.execute("INSERT INTO semantic_state (key, hwm) VALUES ($k, $h)", {"k": key, "h": hwm})


def _arrow(source: Source, columns: Mapping[str, list[Any]]) -> pa.Table:
    uuid_type = pa.uuid()
    arrays: dict[str, pa.Array] = {}
    for name, values in columns.items():
        if name in (source.key, "project_id", "conversation_id"):
            arrays[name] = pa.array(values, pa.binary(16)).cast(uuid_type)
        elif name == "embedding":
            arrays[name] = pa.array(
                [None if v is None else v.tolist() for v in values], pa.list_(pa.float32())
            )
        elif name == "stamp":
            arrays[name] = pa.array(values, pa.timestamp("us"))
        elif name == "doc_type":
            arrays[name] = pa.array(values, pa.string())
        else:
            arrays[name] = pa.array(values, pa.int32())
    return pa.table(arrays)
