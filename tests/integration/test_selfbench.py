"""The packaged benchmark runs every case on a real database and reports consistent figures."""

from __future__ import annotations

from pathlib import Path

from project_architect_db import Database
from project_architect_db.selfbench import CASES, run_cases, write_chart


async def test_every_case_runs_and_reports_ratios_and_verdicts(tmp_path: Path) -> None:
    progress: list[tuple[str, int, int]] = []
    async with Database.open(tmp_path / "bench.duckdb") as db:
        report = await run_cases(
            db, projects=150, rounds=2, progress=lambda *args: progress.append(args)
        )
        # the bulk case really inserted its rows: 3 library rounds (warm-up + 2) + 3 raw
        assert await db.projects.count() == 150 + 6 * 10_000
    assert [case.key for case in report.cases] == [case.key for case in CASES]
    for case in report.cases:
        assert case.library_ms > 0
        assert case.raw_ms > 0
        assert case.rounds == 2
        assert case.met in (True, False)
    assert [done for key, done, _ in progress if key == "get"] == [1, 2]
    chart = write_chart(report, tmp_path / "chart.png")
    assert chart.stat().st_size > 1000
    assert report.to_dict()["projects"] == 150
