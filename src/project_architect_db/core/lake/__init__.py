"""DuckLake: the library's API on a lake (a PostgreSQL catalog and Parquet files).

``Database.open("ducklake:postgres:<conninfo>", data_path=...)`` opens one. This package holds
what opening needs (installing the extensions from their wheels, the ATTACH, the errors of a
catalog that cannot be reached) and the dialect whose DDL the lake accepts. See
docs/architecture.md, "DuckLake".
"""

from __future__ import annotations

from project_architect_db.core.lake._dialect import AsyncDuckLakeDialect, LakeDDLCompiler
from project_architect_db.core.lake._open import (
    LAKE_ALIAS,
    LAKE_EXTRA,
    check_data_path,
    install_lake_extensions,
    lake_errors,
    lake_init_sql,
)

__all__ = [
    "LAKE_ALIAS",
    "LAKE_EXTRA",
    "AsyncDuckLakeDialect",
    "LakeDDLCompiler",
    "check_data_path",
    "install_lake_extensions",
    "lake_errors",
    "lake_init_sql",
]
