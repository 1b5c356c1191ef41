"""A DuckDB result as a list of dicts, built column by column from Arrow.

``cursor.fetchall()`` makes every value through a generic per-value path: a ``UUID`` goes
through ``uuid.UUID(str)`` (~2.5 us), a timestamp is naive and then needs a second pass to get
its UTC zone, and the tuples are then copied into dicts. DuckDB's Arrow export is columnar and
several times faster than ``fetchall``; each column is then converted with a path made for its
type (strings, numbers and dates by pyarrow in C, UUIDs from their hex in ~0.7 us, timestamps
as aware UTC instants from their epoch microseconds), and the dicts are built by one generated
function per column set, called by ``map`` over the columns: no per-row tuple, no ``zip``.

A column of any other type (intervals, lists, structs, ...) makes the whole result take the
``fetchall`` path instead, so every value keeps DuckDB's own Python conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from project_architect_db._records import row_maker
from project_architect_db.models.ids import uuid_from_int

__all__ = ["NeedsFetchall", "arrow_records", "column_converters"]


class NeedsFetchall(Exception):
    """A value this path cannot convert like ``fetchall`` does (``infinity`` timestamps)."""


Converter = Callable[[pa.ChunkedArray], list[Any]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Types whose Arrow values convert to the same Python values ``fetchall`` gives.
_AS_IS = frozenset(
    {
        "VARCHAR",
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "DATE",
    }
)


def _as_is(column: pa.ChunkedArray) -> list[Any]:
    values: list[Any] = column.to_pylist()
    return values


def _uuids(column: pa.ChunkedArray) -> list[Any]:
    # DuckDB exports UUID to Arrow as its canonical text
    make = uuid_from_int
    texts = column.to_pylist()
    return [None if text is None else make(int(text.replace("-", ""), 16)) for text in texts]


def _instants(column: pa.ChunkedArray) -> list[Any]:
    # timestamp[us] (UTC by the library's convention) or timestamp[us, tz=UTC]: epoch micros
    epoch, delta = _EPOCH, timedelta
    micros = column.cast(pa.int64()).to_pylist()
    try:
        return [None if value is None else epoch + delta(0, 0, value) for value in micros]
    except OverflowError:  # +-infinity or beyond year 9999: DuckDB has its own answers for those
        raise NeedsFetchall from None


def _big_integers(column: pa.ChunkedArray) -> list[Any]:
    # HUGEINT (what sum() of integers returns) arrives as decimal128(38, 0): fetchall gives int
    try:
        values: list[Any] = column.cast(pa.int64()).to_pylist()
    except pa.ArrowInvalid:  # beyond 64 bits
        return [None if value is None else int(value) for value in column.to_pylist()]
    return values


def _converter(type_name: str) -> Converter | None:
    if type_name in _AS_IS or type_name.startswith("DECIMAL("):
        return _as_is
    if type_name == "UUID":
        return _uuids
    if type_name in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        return _instants
    if type_name == "HUGEINT":
        return _big_integers
    return None


def column_converters(type_names: list[str]) -> list[Converter] | None:
    """One converter per result column, or ``None`` when a column needs ``fetchall``."""
    converters = [_converter(name) for name in type_names]
    if any(convert is None for convert in converters):
        return None
    return converters  # type: ignore[return-value]


def arrow_records(table: pa.Table, converters: list[Converter]) -> list[dict[str, Any]]:
    """``table``'s rows as dicts keyed by column name (a repeated name keeps the last value)."""
    columns = [convert(column) for convert, column in zip(converters, table.columns, strict=True)]
    return list(map(row_maker(tuple(table.column_names)), *columns))
