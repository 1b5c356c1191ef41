"""The Arrow schema of every table: the database's columns, as types DuckDB scans unchanged."""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa
from sqlalchemy import ARRAY, JSON, BigInteger, Boolean, Column, Float, Integer, Uuid

from project_architect_db.models import Base
from project_architect_db.models.types import UtcDateTime

TABLE_NAMES: Final = (
    "projects",
    "conversations",
    "messages",
    "attachments",
    "documents",
    "document_versions",
    "repositories",
    "builds",
    "deployments",
)
"""Every table a :class:`Dataset` holds, parents before children."""


def _arrow_type(column: Column[Any]) -> pa.DataType:
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
    if isinstance(sql_type, Integer):
        return pa.int32()
    if isinstance(sql_type, Float):
        return pa.float64()
    return pa.string()


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema matching a table of ``Base.metadata``: same column names, order, types.

    Raises:
        KeyError: For a table that is not part of the schema.
    """
    table = Base.metadata.tables[table_name]
    return pa.schema(
        [pa.field(c.name, _arrow_type(c), nullable=bool(c.nullable)) for c in table.columns]
    )
