"""DuckDB 1.5.5: ``RESET memory_limit`` shows the default again but keeps the lowered limit.

Raw DuckDB, no library. After ``SET memory_limit = '50MB'`` then ``RESET memory_limit``,
``current_setting('memory_limit')`` shows the default (80 % of RAM), yet a query that needs
more than 50 MB fails with "Out of Memory" at the old figure; ``SET memory_limit`` to the
default's value instead works. Exit status 1 while the bug is there, 0 once it is fixed.

Run: ``python scripts/duckdb_reset_memory_limit.py``
"""

from __future__ import annotations

import sys

import duckdb

QUERY = (
    "SELECT count(*) FROM (SELECT range % 3000000 AS g, list(range) FROM range(10000000) "
    "GROUP BY g)"
)


def attempt(restore: str) -> str:
    """Lower the limit to 50 MB, restore it with ``restore``, run a query that needs more."""
    # no temporary directory: nothing can spill, so the limit decides
    con = duckdb.connect(config={"temp_directory": ""})
    default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    con.execute("SET memory_limit = '50MB'")
    con.execute(restore.format(default=default))
    shown = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    try:
        con.execute(QUERY).fetchall()
        outcome = "the query ran"
    except duckdb.OutOfMemoryException as error:
        outcome = f"OutOfMemoryException: {str(error).splitlines()[0]}"
    return f"{restore.format(default=default)!r}: shows {shown}; {outcome}"


def main() -> int:
    """Both ways of restoring; exit 1 while ``RESET`` leaves the limit low."""
    print(f"DuckDB {duckdb.__version__}")
    reset = attempt("RESET memory_limit")
    print(reset)
    print(attempt("SET memory_limit = '{default}'"))
    return 1 if "OutOfMemory" in reset else 0


if __name__ == "__main__":
    sys.exit(main())
