"""The self-benchmark behind ``project-architect-db benchmark``: the library against raw DuckDB.

Shipped inside the package, like its sibling :mod:`project_architect_db.selfcheck` (the
self-check suite behind ``project-architect-db test``): it runs on the user's own installation
and machine, with no test tools. Every case times a library call and the same work written by
hand on raw DuckDB, in one run and one database, and reports medians, ratios and whether the
project's promises held.

Not to be confused with the repository's ``benchmarks/`` folder: the developers' fuller
pytest-benchmark suite, which is not installed with the package (see ``benchmarks/README.md``
and ``docs/performance.md``).

Examples:
    >>> import project_architect_db as padb
    >>> from project_architect_db.selfbench import run_cases
    >>> async def main() -> list[str]:
    ...     async with padb.Database.open(":memory:") as db:
    ...         report = await run_cases(db, projects=200, rounds=1, only=["get"])
    ...     return [case.key for case in report.cases]
    >>> padb.run(main())
    ['get']
"""

from __future__ import annotations

from project_architect_db.selfbench._cases import CASES, Progress, run_cases
from project_architect_db.selfbench._report import BenchmarkReport, CaseResult, write_chart
from project_architect_db.selfbench._scale import (
    DataPlan,
    ScaleReport,
    ScaleRow,
    plan_scale,
    run_scale,
)

__all__ = [
    "CASES",
    "BenchmarkReport",
    "CaseResult",
    "DataPlan",
    "Progress",
    "ScaleReport",
    "ScaleRow",
    "plan_scale",
    "run_cases",
    "run_scale",
    "write_chart",
]
