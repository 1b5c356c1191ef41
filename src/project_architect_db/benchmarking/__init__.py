"""The benchmark behind ``project-architect-db benchmark``: the library against raw DuckDB.

It runs on the user's own installation and machine, with no test tools: every case times a
library call and the same work written by hand on raw DuckDB, in one run and one database, and
reports medians, ratios and whether the project's promises held (see ``docs/performance.md``
for the full pytest-benchmark suite in ``benchmarks/``).

Examples:
    >>> import project_architect_db as padb
    >>> from project_architect_db.benchmarking import run_cases
    >>> async def main() -> list[str]:
    ...     async with padb.Database.open(":memory:") as db:
    ...         report = await run_cases(db, projects=200, rounds=1, only=["get"])
    ...     return [case.key for case in report.cases]
    >>> padb.run(main())
    ['get']
"""

from __future__ import annotations

from project_architect_db.benchmarking._cases import CASES, Progress, run_cases
from project_architect_db.benchmarking._report import BenchmarkReport, CaseResult, write_chart

__all__ = ["CASES", "BenchmarkReport", "CaseResult", "Progress", "run_cases", "write_chart"]
