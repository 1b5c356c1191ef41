"""Where a raw project page's time goes in DuckDB: the floor under the library's page.

Runs, on one file opened read-only and with DuckDB's ``threads`` as given, the parts of the
SQL ``list(status="active", order_by="-created_at", limit=50)`` sends
(``selfbench/_scale/_everyday``) and the alternatives tried for fetching the page's rows, each
as raw DuckDB, interleaved, and prints the median CPU time (``time.process_time``) of each:

* the whole page; the same without the two list columns; the window's Top-N alone;
* the page's rows by ``id IN (...)`` (constants and a bound list: an ART index scan) and by
  ``rowid IN (...)`` (constants, then a bound list);
* one point read;
* reading the page's range of ``created_at`` with every column, with none but the key, and
  with each column alone.

    python benchmarks/page_floor.py FILE.duckdb [--threads N] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

COLUMNS = (
    "id, name, slug, description, status, phase, owner_id, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version"
)
ORDER = "ORDER BY created_at DESC, id DESC"
_HIGH, _LOW = "epoch_us(max(created_at))", "epoch_us(min(created_at))"
_SPAN = f"CAST(({_HIGH} - {_LOW}) * least(1.0, 4096.0 / count(*)) AS BIGINT)"
WINDOW = f"created_at >= (SELECT make_timestamp(greatest({_LOW}, {_HIGH} - {_SPAN})) FROM projects)"
FOUND = f"WHERE status = 'active' AND {WINDOW} {ORDER} LIMIT 51"


def _page(columns: str) -> str:
    return (
        f"WITH projects_page AS MATERIALIZED (SELECT rowid AS r, created_at AS k FROM projects "
        f"{FOUND}) SELECT {columns} FROM projects "
        "WHERE created_at >= (SELECT min(k) FROM projects_page) "
        "AND created_at <= (SELECT max(k) FROM projects_page) "
        f"AND rowid IN (SELECT r FROM projects_page) {ORDER}"
    )


def _queries(duck: duckdb.DuckDBPyConnection) -> dict[str, Callable[[], Any]]:
    ids = f"SELECT rowid, id, created_at FROM projects {FOUND}"
    found = duck.execute(ids).fetchall()
    rowids, uuids = [row[0] for row in found], [row[1] for row in found]
    low, high = min(row[2] for row in found), max(row[2] for row in found)
    listed = ",".join(f"'{value}'" for value in uuids)
    numbers = ",".join(map(str, rowids))
    no_lists = COLUMNS.replace("tags, tech_stack, ", "")
    in_range = "FROM projects WHERE created_at BETWEEN $1 AND $2"

    def run(sql: str, *parameters: Any) -> Callable[[], Any]:
        return lambda: duck.execute(sql, list(parameters)).fetchall()

    queries = {
        "page": run(_page(COLUMNS)),
        "page without the list columns": run(_page(no_lists)),
        "window Top-N alone": run(ids),
        "rows by id IN (constants)": run(f"SELECT {COLUMNS} FROM projects WHERE id IN ({listed})"),
        "rows by id IN (bound list)": run(
            f"SELECT {COLUMNS} FROM projects WHERE id IN (SELECT unnest($1::UUID[]))", uuids
        ),
        "rows by rowid IN (bound list)": run(
            f"SELECT {COLUMNS} FROM projects WHERE rowid IN (SELECT unnest($1::BIGINT[]))", rowids
        ),
        "one point read": run(f"SELECT {COLUMNS} FROM projects WHERE id = $1", uuids[0]),
        "range, every column": run(f"SELECT {COLUMNS} {in_range}", low, high),
        "range, the key only": run(f"SELECT created_at {in_range}", low, high),
    }
    for column in COLUMNS.split(", "):
        queries[f"range, {column} alone"] = run(f"SELECT {column} {in_range}", low, high)
    slow = f"SELECT {COLUMNS} FROM projects WHERE rowid IN ({numbers})"
    queries["rows by rowid IN (constants), once"] = run(slow)
    return queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    duck = duckdb.connect(str(args.file), read_only=True)
    duck.execute(f"SET threads = {args.threads}")
    queries = _queries(duck)
    samples: dict[str, list[float]] = {name: [] for name in queries}
    for number in range(args.rounds + 2):
        for name, query in queries.items():
            if name.endswith(", once") and number:
                continue  # it reads the whole table: once is enough
            started = time.process_time()
            query()
            if number >= 2 or name.endswith(", once"):
                samples[name].append((time.process_time() - started) * 1000)
    duck.close()
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"file: {args.file}  threads: {args.threads}  load average (1/5/15 min): {load}")
    print("| query | CPU ms (median) |")
    print("| --- | ---: |")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
