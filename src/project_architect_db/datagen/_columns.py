"""Arrow columns and tables from numpy arrays, string pools and Python lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

from project_architect_db.datagen._draws import Array
from project_architect_db.datagen._schema import arrow_schema
from project_architect_db.datagen.ids import uuid_array

_MESSAGE_CHUNK: Final = 500_000  # rows per Arrow chunk of large string columns


@dataclass(frozen=True)
class _Pooled:
    """A string column ``pool[index]`` (``NULL`` where ``null``), built once rows are ordered."""

    pool: Sequence[str] | pa.Array
    index: Array
    null: Array | None = None


@dataclass(frozen=True)
class _Masked:
    """A column of numpy ``values`` (uuid halves, microseconds, floats), ``NULL`` where ``null``."""

    values: Array
    null: Array


@dataclass(frozen=True)
class _Ascii:
    """A string column of fixed-width ASCII rows (a ``(n, width)`` uint8 array)."""

    rows: Array


def _take(pool: Sequence[str] | pa.Array, index: Array, null: Array | None) -> Any:
    """``pool[index]`` as a string column, chunked so no chunk's offsets overflow int32."""
    values = pool if isinstance(pool, pa.Array) else pa.array(pool, pa.string())
    if len(index) <= _MESSAGE_CHUNK:
        return values.take(pa.array(index, pa.int64(), mask=null))
    chunks = []
    for start in range(0, len(index), _MESSAGE_CHUNK):
        part = slice(start, start + _MESSAGE_CHUNK)
        mask = None if null is None else null[part]
        chunks.append(values.take(pa.array(index[part], pa.int64(), mask=mask)))
    return pa.chunked_array(chunks, pa.string())


def _fixed_width_strings(ascii_rows: Array) -> pa.Array:
    count, width = ascii_rows.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(ascii_rows.tobytes())
    )


def _column(field: pa.Field, values: Any, order: Array) -> Any:
    if isinstance(values, np.ndarray):
        values = values[order]
        return uuid_array(values) if field.type == pa.uuid() else pa.array(values, field.type)
    if isinstance(values, _Pooled):
        null = None if values.null is None else values.null[order]
        return _take(values.pool, values.index[order], null)
    if isinstance(values, _Masked):
        ordered, null = values.values[order], values.null[order]
        if field.type == pa.uuid():
            return _nullable_uuid(ordered, null)
        return pa.array(ordered, field.type, mask=null)
    if isinstance(values, _Ascii):
        return _fixed_width_strings(values.rows[order])
    if isinstance(values, list):
        return pa.array([values[i] for i in order.tolist()], field.type)
    return values.take(pa.array(order, pa.int64()))  # an Arrow array


def _table(name: str, columns: dict[str, Any], order: Array) -> pa.Table:
    """The table ``name`` from logical-order columns, rows put in ``order`` (by created_at)."""
    schema = arrow_schema(name)
    arrays = [_column(field, columns[field.name], order) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _nullable_uuid(halves: Array, null: Array) -> pa.Array:
    validity = pa.py_buffer(np.packbits(~null, bitorder="little").tobytes()) if null.any() else None
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16),
        len(halves),
        [validity, pa.py_buffer(np.ascontiguousarray(halves, dtype=">u8").tobytes())],
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _digests(contents: list[str]) -> tuple[list[str], Array]:
    hashes: list[str] = []
    sizes = np.empty(len(contents), dtype=np.int64)
    for i, content in enumerate(contents):
        data = content.encode("utf-8")
        hashes.append(hashlib.sha256(data).hexdigest())
        sizes[i] = len(data)
    return hashes, sizes
