"""Compile a SQLAlchemy statement once and run it natively on DuckDB (Arrow results, COPY)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import ClauseElement
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from project_architect_db.core._sqlalchemy import bind_processors, construct_params

__all__ = ["native_sql", "utc_timestamps"]


def native_sql(statement: ClauseElement, dialect: Dialect) -> tuple[str, list[Any]]:
    """``(sql, parameters)`` for DuckDB's own ``execute``: ``$n`` placeholders, processed values.

    Bind processors run exactly as SQLAlchemy would run them (aware datetimes become naive UTC,
    enums their values), so the native path and the ORM path store and compare the same values.
    """
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = construct_params(compiled)
    processors = bind_processors(compiled)
    names = compiled.positiontup or []
    values = []
    for name in names:
        value = params[name]
        processor = processors.get(name)
        values.append(processor(value) if processor is not None and value is not None else value)
    return str(compiled), values


def utc_timestamps(table: pa.Table) -> pa.Table:
    """``table`` with its naive timestamp columns (DuckDB's ``TIMESTAMP``, UTC) marked UTC."""
    fields = [
        pa.field(field.name, pa.timestamp("us", "UTC"))
        if pa.types.is_timestamp(field.type) and field.type.tz is None
        else field
        for field in table.schema
    ]
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)
