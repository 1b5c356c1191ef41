"""The Arrow schema of every table: the database's columns, as types DuckDB scans unchanged."""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from project_architect_db.models import Base
from project_architect_db.repositories._arrow import arrow_type

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


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema matching a table of ``Base.metadata``: same column names, order, types.

    Raises:
        KeyError: For a table that is not part of the schema.
    """
    table = Base.metadata.tables[table_name]
    return pa.schema(
        [pa.field(c.name, arrow_type(c), nullable=bool(c.nullable)) for c in table.columns]
    )
