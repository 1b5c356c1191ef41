"""The raw SQL floor under the analytics answers that miss a bar at 1M (issue 13, session 11).

Run: ``python benchmarks/scale_analytics_floors.py /work/scale/s1m.duckdb [--rounds 5]``

For each answer, the library's own SQL on raw DuckDB beside SQL that does strictly less of the
same work (no sort, no distinct, the projects alone) and rewrites tried, interleaved in a
shuffled order per round on one read-only connection, Arrow out, with the CPU time of the
process per call. A floor that
is itself over the bar shows that no rewrite of the answer's SQL can meet it on this machine:
what is left is the part the floor keeps (producing 1M sorted rows, hashing 1M ids).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db.queries.analytics.answers import AnalyticsAnswers

#: the clock the scale files were generated with (``/work/scale/make.py``)
SCALE_NOW = datetime(2026, 12, 1, tzinfo=UTC)
_STALE = "SELECT id, project_id, path, updated_at, version FROM documents WHERE updated_at < $1"
_CHURN = "FROM document_versions GROUP BY 1 ORDER BY 1"


def cases() -> dict[str, dict[str, tuple[str, list[Any]]]]:
    """Per answer: its SQL (``answer``) and the floors beside it, as ``(sql, params)``."""
    answers = AnalyticsAnswers(None)
    stale_sql, stale_params = answers.stale_documents(now=SCALE_NOW).compiled()
    return {
        "project_health_all": {
            "answer": answers.project_health(limit=None).compiled(),
            "projects sorted by name, id (4 columns)": (
                "SELECT id, name, status, phase FROM projects ORDER BY name, id",
                [],
            ),
            "projects unsorted (4 columns)": ("SELECT id, name, status, phase FROM projects", []),
            "the four child groups, no join, no sort": (
                "SELECT (SELECT count(*) FROM (SELECT project_id, count(*), sum(message_count), "
                "max(last_message_at) FROM conversations GROUP BY 1)), (SELECT count(*) FROM "
                "(SELECT project_id, count(*) FROM documents GROUP BY 1)), (SELECT count(*) FROM "
                "(SELECT project_id, count(*), count(*) FILTER (WHERE status = 'success') FROM "
                "builds GROUP BY 1)), (SELECT count(*) FROM (SELECT project_id, count(*), "
                "count(*) FILTER (WHERE caused_incident) FROM deployments GROUP BY 1))",
                [],
            ),
        },
        "stale_documents": {
            "answer": (stale_sql, stale_params),
            "the same rows, unsorted": (_STALE, stale_params),
        },
        "document_churn": {
            "answer": answers.document_churn().compiled(),
            "rewrite: (week, document) groups first, then weeks": (
                "SELECT period, sum(n) AS versions, count(*) AS documents, CAST(sum(n) AS DOUBLE) "
                "/ count(*) AS churn FROM (SELECT date_trunc('week', created_at) AS period, "
                f"document_id, count(*) AS n {_CHURN.replace('1 ORDER BY 1', '1, 2')}) "
                "GROUP BY period ORDER BY period",
                [],
            ),
            "without count(DISTINCT document_id)": (
                f"SELECT date_trunc('week', created_at), count(*) {_CHURN}",
                [],
            ),
        },
        "build_health": {
            "answer": answers.build_health().compiled(),
            "the same groups unsorted": (
                answers.build_health().compiled()[0].replace(" ORDER BY repository_id ASC", ""),
                answers.build_health().compiled()[1],
            ),
            "counts only, no medians": (
                "SELECT repository_id, count(*), count(*) FILTER (WHERE status = 'success') "
                "FROM builds GROUP BY 1",
                [],
            ),
        },
    }


def measure(path: Path, rounds: int, names: Sequence[str]) -> None:
    """Print, per answer and variant, the median wall and CPU milliseconds and the rows."""
    connection = duckdb.connect(str(path), read_only=True, config={"memory_limit": "4GB"})
    try:
        for name, variants in cases().items():
            if names and name not in names:
                continue
            times: dict[str, list[float]] = {key: [] for key in variants}
            cpu: dict[str, list[float]] = {key: [] for key in variants}
            rows: dict[str, int] = {}
            for key, (sql, params) in variants.items():  # warm-up
                rows[key] = connection.execute(sql, params).to_arrow_table().num_rows
            for _ in range(rounds):
                order = list(variants)
                random.shuffle(order)
                for key in order:
                    sql, params = variants[key]
                    started, used = time.perf_counter(), time.process_time()
                    connection.execute(sql, params).to_arrow_table()
                    times[key].append(time.perf_counter() - started)
                    cpu[key].append(time.process_time() - used)
            load = os.getloadavg()[0]
            for key in variants:
                wall = statistics.median(times[key]) * 1000
                used = statistics.median(cpu[key]) * 1000
                print(
                    f"| {name} | {key} | {rows[key]:,} | {wall:,.1f} | {used:,.0f} | {load:.1f} |",
                    flush=True,
                )
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("large", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--answer", action="append", dest="answers", default=[])
    args = parser.parse_args(argv)
    if not args.large.is_file():
        parser.error(f"{args.large} is not a DuckDB file")
    print("| answer | SQL | rows | wall ms | CPU ms | load (1 min) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    measure(args.large, args.rounds, args.answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
