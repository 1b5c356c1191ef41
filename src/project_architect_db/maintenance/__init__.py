"""Maintenance of a database file as a whole: compaction (what ``db-vacuum`` runs).

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

__all__ = ["TEMP_SUFFIX", "CompactionReport", "compact"]
