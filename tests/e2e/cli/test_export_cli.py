"""``export`` and ``import`` from the command line, on real files."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from tests.e2e.cli.test_backup_cli import _database
from tests.integration.maintenance.helpers import identical

runner = CliRunner()


def test_export_then_import_round_trips_and_refuses_to_overwrite(tmp_path: Path) -> None:
    source, folder, copy = tmp_path / "app.duckdb", tmp_path / "export", tmp_path / "copy.duckdb"
    asyncio.run(_database(source))
    exported = runner.invoke(app, ["export", str(folder), "--database", str(source), "--json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["rows"]["main.projects"] == 4
    done = runner.invoke(app, ["import", str(folder), "-d", str(copy)])
    assert done.exit_code == 0, done.output
    assert "imported" in done.output and identical(source, copy)

    refused = runner.invoke(app, ["import", str(folder), "-d", str(copy)])
    assert refused.exit_code == ExitCode.ERROR and "--yes" in refused.output
    again = runner.invoke(app, ["import", str(folder), "-d", str(copy), "--yes", "--json"])
    assert again.exit_code == 0, again.output
    assert Path(json.loads(again.output)["replaced"]).is_file()
    assert identical(source, copy)
    plain = runner.invoke(app, ["import", str(folder), "-d", str(copy), "--yes"])
    assert plain.exit_code == 0 and "kept as" in plain.output, plain.output
    second = runner.invoke(app, ["export", str(tmp_path / "again"), "-d", str(source)])
    assert second.exit_code == 0 and "exported" in second.output, second.output


def test_export_refuses_a_missing_database_and_a_used_folder(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["export", str(tmp_path / "e"), "-d", str(tmp_path / "no.duckdb")])
    assert missing.exit_code != 0 and not (tmp_path / "e").exists()
    source = tmp_path / "app.duckdb"
    asyncio.run(_database(source))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    used = runner.invoke(app, ["export", str(tmp_path / "used"), "-d", str(source)])
    assert used.exit_code != 0 and "not an empty folder" in used.output


@pytest.mark.subprocess
def test_export_and_import_run_as_a_real_process(tmp_path: Path) -> None:
    source, folder = tmp_path / "app.duckdb", tmp_path / "export"
    asyncio.run(_database(source))
    command = [sys.executable, "-m", "project_architect_db"]
    done = subprocess.run(
        [*command, "export", str(folder), "-d", str(source)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stdout
    (folder / "main_projects.parquet").write_bytes(b"tampered")
    refused = subprocess.run(
        [*command, "import", str(folder), "-d", str(tmp_path / "copy.duckdb")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "does not match the manifest" in refused.stderr
    assert not (tmp_path / "copy.duckdb").exists()
