"""The CLI tools name the extra to install when an optional package is missing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import typer

from project_architect_db.cli._common import ExitCode
from project_architect_db.cli.selftest import pytest_command
from project_architect_db.exceptions import ConfigurationError
from project_architect_db.selfbench import BenchmarkReport, CaseResult, write_chart


def _without(monkeypatch: pytest.MonkeyPatch, *missing: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in missing else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_pytest_command_runs_the_packaged_suite() -> None:
    command = pytest_command(["-x"], workers="3")
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert command[3:] == ["--pyargs", "project_architect_db.selfcheck", "-n", "3", "-x"]


def test_test_without_pytest_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(monkeypatch, "pytest")
    with pytest.raises(typer.Exit) as caught:
        pytest_command([], workers=None)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "project-architect-db[testing]" in capsys.readouterr().err


def test_test_parallel_without_xdist_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(monkeypatch, "xdist")
    assert pytest_command([], workers=None)[-1] == "project_architect_db.selfcheck"
    with pytest.raises(typer.Exit):
        pytest_command([], workers="auto")
    assert "pytest-xdist" in capsys.readouterr().err


def _report() -> BenchmarkReport:
    case = CaseResult("get", "lib", "raw", 2.0, 1.0, 1.5, None, 3, 10)
    return BenchmarkReport(cases=[case], projects=10)


def test_chart_without_matplotlib_names_the_charts_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigurationError, match=r"project-architect-db\[charts\]"):
        write_chart(_report(), tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()


def test_verdicts_follow_ratio_and_absolute_promises() -> None:
    slow = CaseResult("get", "lib", "raw", 2.0, 1.0, 1.5, None, 3, 10)
    fast = CaseResult("get", "lib", "raw", 1.2, 1.0, 1.5, None, 3, 10)
    bulk_missed = CaseResult("bulk", "lib", "raw", 60.0, 10.0, None, 50.0, 3, 1)
    free = CaseResult("x", "lib", "raw", 5.0, 1.0, None, None, 3, 1)
    zero = CaseResult("z", "lib", "raw", 5.0, 0.0, 2.0, None, 3, 1)
    assert (slow.met, fast.met, bulk_missed.met, free.met) == (False, True, False, None)
    assert slow.ratio == 2.0
    assert zero.ratio == float("inf")
    assert zero.met is False
    data = BenchmarkReport(cases=[slow], projects=1).to_dict()
    assert data["cases"][0]["met"] is False
    assert data["environment"]["duckdb"]


async def test_run_cases_refuses_bad_sizes_and_unknown_cases() -> None:
    from project_architect_db import Database
    from project_architect_db.selfbench import run_cases

    async with Database.open(":memory:") as db:
        with pytest.raises(ValueError, match="at least 1"):
            await run_cases(db, projects=0)
        with pytest.raises(ValueError, match="choose from"):
            await run_cases(db, projects=10, only=["nope"])
        assert await db.projects.count() == 0
