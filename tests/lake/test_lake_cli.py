"""Every CLI command's ``--database`` takes a lake; its data folder comes from PADB_DATA_PATH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from project_architect_db.cli import app

from .conftest import Lake


@pytest.fixture
def runner(lake: Lake, monkeypatch: pytest.MonkeyPatch, extension_directory: Path) -> CliRunner:
    monkeypatch.setenv("PADB_DATA_PATH", lake.data_path)
    monkeypatch.setenv("PADB_EXTENSION_DIRECTORY", str(extension_directory))
    return CliRunner()


def test_migrate_upgrade_and_current_on_a_lake(runner: CliRunner, lake: Lake) -> None:
    upgraded = runner.invoke(app, ["migrate", "upgrade", "--database", lake.catalog])
    assert upgraded.exit_code == 0, upgraded.output
    assert "empty ->" in upgraded.output
    current = runner.invoke(app, ["migrate", "current", "--database", lake.catalog, "--json"])
    assert current.exit_code == 0, current.output
    assert '"0003"' in current.output


def test_db_vacuum_on_a_lake_reports_what_it_would_do_then_does_it(
    runner: CliRunner, lake: Lake
) -> None:
    assert runner.invoke(app, ["init", "--database", lake.catalog]).exit_code == 0
    vacuum = ["db-vacuum", "--database", lake.catalog]
    dry = runner.invoke(app, [*vacuum, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["dry_run"] is True
    done = runner.invoke(app, [*vacuum, "--older-than", "1"])
    assert done.exit_code == 0, done.output
    assert "lake (did, cut-off" in done.output


def test_db_vacuum_refuses_a_dry_run_on_a_file_and_a_zero_retention(
    runner: CliRunner, lake: Lake, tmp_path: Path
) -> None:
    file = runner.invoke(app, ["db-vacuum", "--database", str(tmp_path / "a.duckdb"), "--dry-run"])
    assert file.exit_code != 0
    assert "--dry-run is for a lake" in file.output
    zero = runner.invoke(app, ["db-vacuum", "--database", lake.catalog, "--older-than", "0"])
    assert zero.exit_code != 0
    assert "more than 0 days" in zero.output


def test_a_lake_that_cannot_be_reached_fails_with_what_to_do(
    runner: CliRunner, tmp_path: Path
) -> None:
    down = f"ducklake:postgres:dbname=postgres host={tmp_path / 'nowhere'} user=postgres"
    result = runner.invoke(app, ["migrate", "upgrade", "--database", down])
    assert result.exit_code != 0
    assert "server runs" in result.output
