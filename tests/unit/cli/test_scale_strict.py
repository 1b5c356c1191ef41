"""``benchmark --scale --strict``: the exit code follows the verdicts (the run is stubbed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import project_architect_db.selfbench as selfbench
from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.selfbench import DataPlan, ScaleReport, ScaleRow

runner = CliRunner()
ENVIRONMENT = {
    "load_average_before": [1.0, 1.0, 1.0],
    "load_average_after": [1.0, 1.0, 1.0],
    "cpus": 2,
    "duckdb": "x",
    "sqlite": "y",
    "python": "z",
}


def _stub(monkeypatch: pytest.MonkeyPatch, large_ms: float, plan: DataPlan) -> None:
    row = ScaleRow("get", "everyday", 1.0, large_ms, 1.0, 1.0, 1.0, 1.0, 2.0, None, "within 3x")
    report = ScaleReport(200, 2_000, {}, [row], 1.0, ENVIRONMENT)

    async def run_scale(*args: Any, **kwargs: Any) -> ScaleReport:
        kwargs["progress"]("generating scale-200.duckdb", 100, 200)
        kwargs["progress"]("copying to SQLite", 100, 0)
        kwargs["step"]("timing")
        kwargs["step"]("timing again")
        return report

    monkeypatch.setattr(selfbench, "run_scale", run_scale)
    monkeypatch.setattr(selfbench, "plan_scale", lambda *args, **kwargs: plan)


@pytest.mark.parametrize(
    ("large_ms", "code"), [(1.5, 0), (2.5, ExitCode.ERROR), (9.0, ExitCode.ERROR)]
)
def test_strict_exits_1_exactly_when_a_bar_is_missed(
    large_ms: float, code: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _stub(monkeypatch, large_ms, DataPlan((), 0, 0, 0.0))
    out = tmp_path / "r.json"
    result = runner.invoke(
        app, ["benchmark", "--scale", "--strict", "--data-dir", str(tmp_path), "--json", str(out)]
    )
    assert result.exit_code == code, result.output
    assert json.loads(out.read_text())["rows"][0]["large_ms"] == large_ms
    assert ("at least one bar was missed" in result.output) == bool(code)
    assert "first run" not in result.output


def test_the_first_run_estimate_is_printed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _stub(monkeypatch, 1.0, DataPlan((100_000, 1_000_000), 2, 19_500_000_000, 5_500.0))
    result = runner.invoke(
        app, ["benchmark", "--scale", "--data-dir", str(tmp_path), "--json", str(tmp_path / "j")]
    )
    assert result.exit_code == 0, result.output
    assert "about 19.5 GB of disk and 92 min" in " ".join(result.output.split())
