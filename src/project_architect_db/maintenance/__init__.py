"""Maintenance of a database as a whole: what ``db-vacuum`` runs.

On a file, :func:`compact`; on a lake, :func:`maintain_lake` (DuckLake's merge, snapshot
expiry and file clean-up).

DuckDB reuses the blocks that deleted rows free, but never gives them back to the file system:
a file only shrinks when it is written anew. :func:`compact` does that safely, beside the
original, and swaps the copy in only once it is verified.

Examples:
    >>> import project_architect_db as padb
    >>> from project_architect_db.maintenance import compact
    >>> report = padb.run(compact("architect.duckdb"))  # doctest: +SKIP
    >>> report.bytes_reclaimed  # doctest: +SKIP
    12582912
"""

from __future__ import annotations

from project_architect_db.maintenance._compact import TEMP_SUFFIX, CompactionReport, compact
from project_architect_db.maintenance._lake import (
    DEFAULT_RETENTION,
    LakeMaintenanceReport,
    TableFiles,
    maintain_lake,
)

__all__ = [
    "DEFAULT_RETENTION",
    "TEMP_SUFFIX",
    "CompactionReport",
    "LakeMaintenanceReport",
    "TableFiles",
    "compact",
    "maintain_lake",
]
