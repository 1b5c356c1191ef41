"""DuckDB: ``UPDATE ... RETURNING`` on an indexed table sometimes updates (and returns) a row twice.

Standalone (only ``duckdb``): the minimal reproduction behind issue 13's "More than one row
matched" in ``add_message``, and the text of the upstream report (docs/architecture.md, "DuckDB:
UPDATE ... RETURNING can update a row twice").

On a table with any index (here its PRIMARY KEY), DuckDB runs ``UPDATE ... RETURNING`` as a
delete + insert: the updated row moves to the transaction's local storage (its ``rowid``
changes). When the table has more than one row group (> 122,880 rows) the scan runs in parallel,
and now and then it meets the moved row again: the row matches ``WHERE id = ?`` a second time, is
updated a second time (``n`` goes 0 -> 2) and comes back twice. Without ``RETURNING`` the update
happens in place (the ``rowid`` stays) and never repeats; with ``SET threads = 1`` neither.

    python scripts/repro_update_returning.py            # 250,000 rows, 2,000 updates
    python scripts/repro_update_returning.py 1000000 20000 --file /tmp/t.duckdb
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

import duckdb


def table(duck: duckdb.DuckDBPyConnection, rows: int) -> list[object]:
    """Create ``t`` (a UUID primary key and a counter) with ``rows`` rows; return the ids."""
    duck.execute("CREATE TABLE t (id UUID PRIMARY KEY, n INTEGER NOT NULL)")
    duck.execute(f"INSERT INTO t SELECT uuid(), 0 FROM range({rows})")
    return [row[0] for row in duck.execute("SELECT id FROM t").fetchall()]


def run(duck: duckdb.DuckDBPyConnection, ids: list[object], updates: int, returning: bool) -> None:
    """``updates`` increments of random rows; print how many matched their row more than once."""
    duck.execute("UPDATE t SET n = 0 WHERE n <> 0")
    rng = random.Random(1)
    chosen = [rng.choice(ids) for _ in range(updates)]
    suffix = " RETURNING id, n" if returning else ""
    repeated: list[tuple[object, list[tuple[object, ...]]]] = []
    started = time.perf_counter()
    for row_id in chosen:
        if returning:
            rows = duck.execute(f"UPDATE t SET n = n + 1 WHERE id = ?{suffix}", [row_id]).fetchall()
        else:
            rows = duck.execute("UPDATE t SET n = n + 1 WHERE id = ?", [row_id]).fetchall()
            rows = [(row_id,)] * rows[0][0]  # the count of updated rows
        if len(rows) != 1:
            repeated.append((row_id, rows))
    elapsed = time.perf_counter() - started
    expected = updates  # every update adds 1 to one row
    total = duck.execute("SELECT sum(n) FROM t").fetchone()[0]  # type: ignore[index]
    label = "UPDATE ... RETURNING" if returning else "UPDATE (no RETURNING)"
    print(
        f"{label}: {len(repeated)} of {updates} updates matched their row more than once; "
        f"sum(n) = {total}, expected {expected} ({elapsed:.1f} s)"
    )
    for row_id, rows in repeated[:3]:
        print(f"    WHERE id = '{row_id}' returned {rows}")


def main() -> int:
    """Print the versions, the moved rowid, and both runs (with and without RETURNING)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=250_000)
    parser.add_argument("updates", nargs="?", type=int, default=2_000)
    parser.add_argument("--file", help="a new database file (default: in memory)")
    parser.add_argument("--threads", type=int, help="SET threads (default: DuckDB's)")
    arguments = parser.parse_args()
    if arguments.file and os.path.exists(arguments.file):
        parser.error(f"{arguments.file} exists; give a new path")
    duck = duckdb.connect(arguments.file or ":memory:")
    if arguments.threads:
        duck.execute(f"SET threads = {arguments.threads}")
    threads = duck.execute("SELECT current_setting('threads')").fetchone()[0]  # type: ignore[index]
    print(
        f"duckdb {duckdb.__version__}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, threads {threads}, {os.cpu_count()} CPUs"
    )
    ids = table(duck, arguments.rows)
    moved = duck.execute("SELECT rowid FROM t WHERE id = ?", [ids[0]]).fetchone()[0]  # type: ignore[index]
    duck.execute("UPDATE t SET n = n WHERE id = ? RETURNING n", [ids[0]]).fetchall()
    after = duck.execute("SELECT rowid FROM t WHERE id = ?", [ids[0]]).fetchone()[0]  # type: ignore[index]
    print(f"rowid of a row before and after UPDATE ... RETURNING: {moved} -> {after}")
    run(duck, ids, arguments.updates, returning=True)
    run(duck, ids, arguments.updates, returning=False)
    duck.close()
    if arguments.file:
        os.remove(arguments.file)
        if os.path.exists(arguments.file + ".wal"):
            os.remove(arguments.file + ".wal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
