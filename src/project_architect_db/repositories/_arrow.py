"""Validated records -> one Arrow table -> one ``INSERT ... SELECT``: the bulk-write path.

DuckDB's ``executemany`` is ~400x slower than scanning an Arrow table, and ``model_dump`` +
``from_pylist`` is 3-5x slower than building columns directly, so columns are built one at a
time from the records' attributes, with each column's Arrow type read off the SQL type.
Timestamps are naive ``timestamp('us')`` holding UTC (an aware Arrow column would be shifted by
the session time zone on its way into a naive ``TIMESTAMP``); UUIDs are ``pa.uuid()``; JSON is
serialised with ``pydantic_core.to_json``.
"""

from __future__ import annotations

import itertools
import operator
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic_core import to_json
from sqlalchemy import ARRAY, JSON, Boolean, Column, Double, Float, Integer, Uuid
from sqlalchemy.sql.sqltypes import BigInteger, SmallInteger

from project_architect_db.models.ids import _UNKNOWN_SAFETY, reserve_uuid7, uuid7_batch
from project_architect_db.models.types import UtcDateTime

__all__ = ["arrow_type", "build_table", "repeat_array", "to_arrow_value_column"]

# Slot setters of ``uuid.UUID`` (immutable: its ``__setattr__`` raises), for :func:`ids_of`.
_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_safety = uuid.UUID.__dict__["is_safe"].__set__


def arrow_type(column: Column[Any]) -> pa.DataType:
    """The Arrow type that DuckDB scans into ``column`` without conversion."""
    sql_type = column.type
    if isinstance(sql_type, Uuid):
        return pa.uuid()
    if isinstance(sql_type, UtcDateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, JSON):
        return pa.string()
    if isinstance(sql_type, ARRAY):
        return pa.list_(pa.string())
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, BigInteger):
        return pa.int64()
    if isinstance(sql_type, SmallInteger | Integer):
        return pa.int32()
    if isinstance(sql_type, Float | Double):
        return pa.float64()
    return pa.string()


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value  # already validated upstream as UTC
    return value.astimezone(UTC).replace(tzinfo=None)


def to_arrow_value_column(column: Column[Any], values: Sequence[Any]) -> pa.Array:
    """One Arrow column for ``column`` from Python values (already validated)."""
    target = arrow_type(column)
    if target == pa.uuid():
        return pa.array([None if v is None else v.bytes for v in values], type=target)
    if pa.types.is_timestamp(target):
        # Naive values are UTC already (validated upstream): only aware ones need converting.
        if any(v is not None and v.tzinfo is not None for v in values):
            values = [_naive_utc(v) for v in values]
        return pa.array(values, type=target)
    if isinstance(column.type, JSON):
        # most JSON fields of new rows are empty objects: skip the serialiser for those, and
        # when every value is one (list.count compares in C), skip the per-value work too
        if values and _count(values, {}) == len(values):
            return pa.repeat(pa.scalar("{}", target), len(values))
        return pa.array(
            [None if v is None else "{}" if v == {} else to_json(v).decode() for v in values],
            target,
        )
    if pa.types.is_list(target) and values and _count(values, []) == len(values):
        # every list empty (a new project's tech_stack): offsets only, no per-value conversion
        offsets = pa.array(np.zeros(len(values) + 1, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array([], target.value_type))
    # str-based enums (StrEnum) convert as the strings they are
    return pa.array(values, type=target)


def _count(values: Sequence[Any], value: Any) -> int:
    """How many of ``values`` equal ``value`` (``list.count`` in C when it is a list)."""
    return values.count(value) if isinstance(values, list) else -1


def repeat_array(column: Column[Any], value: Any, count: int) -> pa.Array:
    """``count`` copies of ``value`` as an Arrow column for ``column``, without a Python list."""
    target = arrow_type(column)
    if value is None:
        return pa.nulls(count, target)
    if pa.types.is_timestamp(target) or pa.types.is_integer(target) or target == pa.bool_():
        return pa.repeat(
            pa.scalar(_naive_utc(value) if isinstance(value, datetime) else value, target), count
        )
    return to_arrow_value_column(column, [value] * count)


def _attribute_columns(rows: Sequence[Any], keys: Sequence[str]) -> dict[str, list[Any]]:
    """The values of attributes ``keys`` of every row, per key.

    Pydantic models keep their field values in the instance ``__dict__`` (computed fields,
    such as a document's ``content_hash``, are read with ``getattr``). The records of a bulk
    call are usually cold in the CPU caches (made earlier, spread over the heap), so each
    ``__dict__`` is visited once, all its values read by one ``itemgetter`` in C, and the
    row-major values cut into columns by strided slices (sequential memory); reading one key
    at a time walked every ``__dict__`` once per key. The per-row tuples are freed as soon
    as they are flattened, so they never pile up for the garbage collector.
    """
    if not rows:
        return {key: [] for key in keys}
    try:
        stored = vars(rows[0])
    except TypeError:  # no instance __dict__: the general way
        stored = {}
    direct = [key for key in keys if key in stored]
    columns = {key: [getattr(row, key) for row in rows] for key in keys if key not in stored}
    try:
        if len(direct) == 1:  # itemgetter of one key gives the value, not a tuple
            columns[direct[0]] = list(map(itemgetter(direct[0]), map(vars, rows)))
        elif direct:
            values = map(itemgetter(*direct), map(vars, rows))
            flat = list(itertools.chain.from_iterable(values))
            step = len(direct)
            columns.update((key, flat[index::step]) for index, key in enumerate(direct))
    except (TypeError, KeyError):  # a row unlike the first: the general way
        columns.update((key, [getattr(row, key) for row in rows]) for key in direct)
    return columns


def build_table(
    columns: Sequence[tuple[str, Column[Any]]],
    rows: Sequence[Any],
    *,
    defaults: dict[str, Callable[[int], Any]],
) -> pa.Table:
    """An Arrow table with one column per ``(attribute, column)`` pair.

    A column's values are the rows' attribute ``attribute``, or ``defaults[attribute](n)`` for
    the columns the records do not carry (ids, timestamps, versions): a list or an Arrow array.
    """
    count = len(rows)
    read = _attribute_columns(rows, [key for key, _ in columns if key not in defaults])
    arrays = []
    names = []
    for key, column in columns:
        maker = defaults.get(key)
        values = maker(count) if maker is not None else read[key]
        arrays.append(
            values if isinstance(values, pa.Array) else to_arrow_value_column(column, values)
        )
        names.append(column.name)
    return pa.Table.from_arrays(arrays, names=names)


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` fresh time-ordered ids."""
    return uuid7_batch(count)


def new_id_array(count: int) -> tuple[pa.Array, np.ndarray]:
    """``count`` fresh UUIDv7s as an Arrow ``uuid`` column, built with numpy (no UUID objects).

    Returns the column and its ``(count, 2)`` big-endian ``uint64`` halves, from which
    :func:`ids_of` makes Python ``UUID`` objects only when they are asked for.
    """
    unix_ms, first = reserve_uuid7(count)
    counters = np.arange(first, first + count, dtype=np.uint64)
    random = np.frombuffer(os.urandom(4 * count), dtype=np.uint32).astype(np.uint64)
    halves = np.empty((count, 2), dtype=">u8")
    halves[:, 0] = np.uint64((unix_ms << 16) | 0x7000) | (counters >> np.uint64(30))
    halves[:, 1] = (
        np.uint64(0x8000_0000_0000_0000)
        | ((counters & np.uint64(0x3FFF_FFFF)) << np.uint64(32))
        | random
    )
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), count, [None, pa.py_buffer(halves.tobytes())]
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage), halves


def ids_of(halves: np.ndarray) -> list[uuid.UUID]:
    """Python ``UUID`` objects for the ids made by :func:`new_id_array`.

    ``uuid.UUID(int=...)`` re-validates every value; these are valid by construction, so the
    128-bit integers are made from the two halves' Python ints (``tolist`` in C, then a
    shift and an or run by ``map``), and the objects allocated and their two slots filled by
    C-level ``map`` loops: no Python-level loop, no bytes slice per id.
    """
    count = len(halves)
    high = halves[:, 0].astype(np.uint64).tolist()
    low = halves[:, 1].astype(np.uint64).tolist()
    ints = list(map(operator.or_, map(operator.lshift, high, itertools.repeat(64, count)), low))
    ids: list[uuid.UUID] = list(map(object.__new__, itertools.repeat(uuid.UUID, count)))
    any(map(_set_uuid_int, ids, ints))  # the setters return None: any() runs them all
    any(map(_set_uuid_safety, ids, itertools.repeat(_UNKNOWN_SAFETY, count)))
    return ids
