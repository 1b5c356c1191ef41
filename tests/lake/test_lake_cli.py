"""Every CLI command's ``--database`` takes a lake; its data folder comes from PADB_DATA_PATH."""

from __future__ import annotations

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
    assert '"0002"' in current.output


def test_db_vacuum_refuses_a_lake(runner: CliRunner, lake: Lake) -> None:
    assert runner.invoke(app, ["init", "--database", lake.catalog]).exit_code == 0
    result = runner.invoke(app, ["db-vacuum", "--database", lake.catalog])
    assert result.exit_code != 0
    assert "ducklake_merge_adjacent_files" in result.output


def test_a_lake_that_cannot_be_reached_fails_with_what_to_do(
    runner: CliRunner, tmp_path: Path
) -> None:
    down = f"ducklake:postgres:dbname=postgres host={tmp_path / 'nowhere'} user=postgres"
    result = runner.invoke(app, ["migrate", "upgrade", "--database", down])
    assert result.exit_code != 0
    assert "server runs" in result.output
