"""Running an analytics query natively on DuckDB: rows, Arrow, polars, COPY to a file."""

from __future__ import annotations

import copy
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeVar

import pyarrow as pa

from project_architect_db.core.lake._snapshot import AsOf, at_clause, run_at_snapshot
from project_architect_db.core.transaction import Transaction, current_transaction
from project_architect_db.exceptions import InvalidQueryError, ProjectArchitectDBError
from project_architect_db.queries.analytics._rows import (
    NeedsFetchall,
    arrow_records,
    column_converters,
)
from project_architect_db.queries.native import utc_timestamps

if TYPE_CHECKING:
    import polars

__all__ = ["ExportFormat", "NativeRunner", "Runnable", "Runner", "Source"]

T = TypeVar("T")
#: Opens the unit of work a query runs in (``db.transaction``).
Source = Callable[[], AbstractAsyncContextManager[Transaction]]
#: Runs ``fn(duckdb_connection)`` outside any transaction (``NativeReaders.run`` of the database).
NativeRunner = Callable[[Callable[[Any], Any]], Awaitable[Any]]
ExportFormat = Literal["parquet", "csv"]


class Runner(Protocol):
    """What analytics needs of the database's executor (``core/executor.Executor``)."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open a unit of work (joins the caller's in the same task)."""
        ...  # pragma: no cover - a protocol

    async def run_native_read(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(duckdb_connection)`` outside any transaction, errors translated."""
        ...  # pragma: no cover - a protocol


_FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER)"}


class Runnable:
    """A query that runs natively on DuckDB; subclasses provide :meth:`_prepare`."""

    _source: Source | None
    _native: NativeRunner | None
    _as_of: AsOf | None = None

    def as_of(self, as_of: AsOf) -> Self:
        """The same query, answered as a lake was at a past snapshot (DuckLake time travel).

        Every table the query reads (joins and subqueries included) is read as of the same
        snapshot: the lake is attached once more, read-only, at ``as_of`` for the query.

        Args:
            as_of: A snapshot id (``ducklake_snapshots()``) or a time-zone-aware datetime.

        Raises:
            InvalidQueryError: ``as_of`` is not an int >= 0 nor an aware datetime; running it
                on a DuckDB file (it keeps no past snapshots).
            NotFoundError: When run: the lake has no snapshot at ``as_of`` (before its first
                commit, after its latest, or expired by ``db-vacuum``).
        """
        at_clause(as_of)  # checked now, not when run
        clone = copy.copy(self)
        clone._as_of = as_of
        return clone

    def _prepare(self) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def sql(self) -> str:
        """The SQL text sent to DuckDB (``$n`` placeholders; values are bound separately)."""
        return self._prepare()[0]

    def compiled(self) -> tuple[str, list[Any]]:
        """``(sql, parameters)`` exactly as executed."""
        return self._prepare()

    async def _run(self, fn: Callable[[Any], T]) -> T:
        if self._source is None:
            raise InvalidQueryError(
                "This query is not bound to a database: build it with "
                "db.analytics.query(Model), or call .bind(db.transaction)."
            )
        sql, params = self._prepare()
        as_of = self._as_of
        if as_of is not None:
            now = fn

            def fn(job: tuple[Any, str, list[Any]]) -> T:
                return run_at_snapshot(job[0], as_of, lambda cursor: now((cursor, sql, params)))

        # the executor translates errors at both entry points
        if self._native is not None and current_transaction() is None:
            # One read statement needs no unit of work: one hop on a kept connection is
            # ~0.9 ms cheaper than a session-backed transaction and ~0.2 ms cheaper than a
            # pool checkout (measured), which matters for the small answers. Inside
            # db.transaction() the query joins it instead.
            result: T = await self._native(lambda duck: fn((duck, sql, params)))
            return result
        async with self._source() as tx:
            return await tx.run_native(lambda duck: fn((duck, sql, params)))

    async def rows(self) -> list[dict[str, Any]]:
        """The result as a list of dicts keyed by output name.

        Plain dicts (JSON-ready, cheap) rather than generated record classes: output names
        depend on the query. Timestamps are aware UTC ``datetime`` s, like the repositories'.
        The dicts are built on the worker thread. A query whose last result was large is
        fetched through DuckDB's Arrow export and converted column by column (``_rows.py``),
        which costs less than ``fetchall()`` alone; a small result skips Arrow's fixed cost.
        """
        return await self._run(_fetch_records)

    async def to_arrow(self) -> pa.Table:
        """The result as a pyarrow Table built by DuckDB (timestamps ``timestamp[us, tz=UTC]``)."""

        def fetch(job: tuple[Any, str, list[Any]]) -> pa.Table:
            duck, sql, params = job
            return duck.execute(sql, params).to_arrow_table()

        return utc_timestamps(await self._run(fetch))

    async def to_polars(self) -> polars.DataFrame:
        """The result as a polars DataFrame (needs the ``polars`` extra).

        Raises:
            ProjectArchitectDBError: polars is not installed.
        """
        try:
            import polars
        except ImportError:
            raise ProjectArchitectDBError(
                "to_polars() needs polars: pip install 'project-architect-db[polars]'"
            ) from None
        frame = polars.from_arrow(await self.to_arrow())
        assert isinstance(frame, polars.DataFrame)
        return frame

    async def export(
        self, path: str | os.PathLike[str], *, format: ExportFormat = "parquet"
    ) -> int:
        """Write the result to a Parquet or CSV file with DuckDB's ``COPY`` (rows stay in DuckDB).

        DuckDB accepts prepared parameters inside ``COPY (<query>) TO``, so values stay bound.
        Timestamps are written as naive ``TIMESTAMP`` s holding UTC.

        Returns:
            The number of rows written.

        Raises:
            InvalidQueryError: unknown format, or a path that is empty, a directory, in a
                folder that does not exist, or holds a NUL or newline.
        """
        target = _export_path(path)
        options = _FORMATS.get(format) if isinstance(format, str) else None
        if options is None:
            raise InvalidQueryError(
                f"Unknown export format {str(format)[:20]!r}; use one of {', '.join(_FORMATS)}."
            )
        quoted = str(target).replace("'", "''")

        def copy(job: tuple[Any, str, list[Any]]) -> int:
            duck, sql, params = job
            row = duck.execute(f"COPY ({sql}) TO '{quoted}' {options}", params).fetchone()
            return int(row[0]) if row else 0

        return await self._run(copy)


def _export_path(path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise InvalidQueryError(f"An export path is a str or Path, not {type(path).__name__}.")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise InvalidQueryError("An export path must be a non-empty file path.")
    if any(char in text for char in "\x00\n\r"):
        raise InvalidQueryError("An export path must not contain NUL or newline characters.")
    target = Path(text).expanduser().resolve()
    if target.is_dir():
        raise InvalidQueryError(f"Cannot export to {text[:200]!r}: it is a directory.")
    if not target.parent.is_dir():
        raise InvalidQueryError(
            f"Cannot export to {text[:200]!r}: the folder {str(target.parent)[:200]!r} "
            "does not exist."
        )
    return target


#: Compiled SQL texts whose last result had at least ``_LARGE_RESULT`` rows.
_LARGE: set[str] = set()
#: Compiled SQL texts whose values the Arrow path could not convert (``infinity`` timestamps).
_FETCHALL_ONLY: set[str] = set()
_LARGE_RESULT = 1000
_LARGE_REMEMBERED = 4096


def _fetch_records(job: tuple[Any, str, list[Any]]) -> list[dict[str, Any]]:
    """Worker side of :meth:`Runnable.rows`: run the query, build the dicts."""
    duck, sql, params = job
    cursor = duck.execute(sql, params)
    description = cursor.description or []
    if sql in _LARGE:
        converters = column_converters([str(item[1]) for item in description])
        if converters is not None:
            table = cursor.to_arrow_table()
            if table.num_rows < _LARGE_RESULT:
                _LARGE.discard(sql)
            try:
                return arrow_records(table, converters)
            except NeedsFetchall:  # rare values: this query takes DuckDB's own path from now on
                _LARGE.discard(sql)
                _remember(_FETCHALL_ONLY, sql)
                cursor = duck.execute(sql, params)  # read again, the fetchall way below
    records = cursor.fetchall()
    if len(records) >= _LARGE_RESULT and sql not in _FETCHALL_ONLY:
        _remember(_LARGE, sql)
    return _tuple_records(description, records)


def _remember(texts: set[str], sql: str) -> None:
    if len(texts) >= _LARGE_REMEMBERED:  # bounded: forget, then learn again
        texts.clear()
    texts.add(sql)


def _tuple_records(description: list[Any], records: list[Any]) -> list[dict[str, Any]]:
    """``fetchall()`` rows as dicts, naive timestamps made aware (UTC)."""
    names = [item[0] for item in description]
    instants = [index for index, item in enumerate(description) if str(item[1]) == "TIMESTAMP"]
    if instants:
        records = [_aware(record, instants) for record in records]
    return [dict(zip(names, record, strict=True)) for record in records]


def _aware(record: tuple[Any, ...], indexes: list[int]) -> tuple[Any, ...]:
    values = list(record)
    for index in indexes:
        value = values[index]
        if isinstance(value, datetime) and value.tzinfo is None:
            values[index] = value.replace(tzinfo=UTC)
    return tuple(values)
