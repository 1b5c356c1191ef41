"""``backup`` and ``restore`` from the command line, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from project_architect_db import Database
from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from tests.integration.backup.helpers import fill
from tests.integration.maintenance.helpers import identical

runner = CliRunner()


async def _database(path: Path) -> None:
    async with Database.open(path, load_fts=False) as db:
        await fill(db, 4)


def _backup(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["backup", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_backup_then_restore_round_trips_and_keeps_rotates(tmp_path: Path) -> None:
    import asyncio

    source = tmp_path / "app.duckdb"
    asyncio.run(_database(source))
    folder = tmp_path / "b"
    folder.mkdir()
    first = _backup(str(folder), "--database", str(source), "--keep", "1")
    second = _backup(str(folder), "--database", str(source), "--keep", "1")
    assert second["removed"] == [first["backup"]]
    assert second["rows"]["main.projects"] == 4  # type: ignore[index]

    refused = runner.invoke(app, ["restore", str(second["backup"]), "--database", str(source)])
    assert refused.exit_code == ExitCode.ERROR, refused.output
    assert "--yes" in refused.output

    restored = tmp_path / "restored.duckdb"
    done = runner.invoke(app, ["restore", str(second["backup"]), "-d", str(restored), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["replaced"] is None
    assert identical(source, restored)

    again = runner.invoke(app, ["restore", str(second["backup"]), "-d", str(source), "--yes"])
    assert again.exit_code == 0, again.output
    assert "kept as" in again.output
    plain = runner.invoke(app, ["backup", str(folder), "-d", str(source), "--keep", "1"])
    assert "backed up" in plain.output and "removed the older backup" in plain.output


def test_backup_of_a_missing_database_exits_with_the_missing_file_code(tmp_path: Path) -> None:
    result = runner.invoke(app, ["backup", "-d", str(tmp_path / "missing.duckdb")])
    assert result.exit_code == ExitCode.MISSING_FILE, result.output


def test_backup_into_a_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    import asyncio

    source = tmp_path / "app.duckdb"
    asyncio.run(_database(source))
    result = runner.invoke(app, ["backup", str(tmp_path / "nowhere"), "-d", str(source)])
    assert result.exit_code == ExitCode.STORAGE, result.output
    assert "does not exist" in result.output


def test_restore_of_a_file_without_manifest_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.duckdb"
    duckdb.connect(str(fake)).close()
    result = runner.invoke(app, ["restore", str(fake), "-d", str(tmp_path / "x.duckdb")])
    assert result.exit_code == ExitCode.STORAGE, result.output
    assert "not a complete backup" in result.output
    assert not (tmp_path / "x.duckdb").exists()
