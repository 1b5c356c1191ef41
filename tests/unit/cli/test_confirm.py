"""Questions before destructive commands, answered as on a terminal (stdin's tty-ness stubbed)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from project_architect_db.cli import _common, app, migrate
from project_architect_db.cli._common import ExitCode, refuse_empty_file

runner = CliRunner()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "stdin_is_terminal", lambda: True)


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.duckdb")
    assert runner.invoke(app, ["init", "--database", path]).exit_code == 0
    return path


def _revision(path: str) -> list[tuple[str]]:
    with duckdb.connect(path, read_only=True) as duck:
        return duck.execute("SELECT version_num FROM alembic_version").fetchall()


@pytest.mark.usefixtures("terminal")
def test_downgrade_answered_yes_on_a_terminal_drops_the_schema(database: str) -> None:
    result = runner.invoke(app, ["migrate", "downgrade", "base", "-d", database], input="y\n")
    assert result.exit_code == 0, result.output
    assert "undo 0001" in result.output and "base (no tables)" in result.output
    assert _revision(database) == []


@pytest.mark.usefixtures("terminal")
def test_downgrade_answered_no_on_a_terminal_changes_nothing(database: str) -> None:
    result = runner.invoke(app, ["migrate", "downgrade", "base", "-d", database], input="n\n")
    assert result.exit_code == ExitCode.ERROR
    assert "nothing was changed" in result.output
    assert _revision(database) == [("0003",)]


@pytest.mark.usefixtures("terminal")
def test_db_reset_answered_no_on_a_terminal_changes_nothing(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute("CREATE TABLE keep_me (x INTEGER)")
    result = runner.invoke(app, ["db-reset", "-d", database], input="n\n")
    assert result.exit_code == ExitCode.ERROR
    with duckdb.connect(database, read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM keep_me").fetchone() == (0,)


def test_a_database_changed_while_the_question_waited_is_left_alone(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def meanwhile(question: str, yes: bool) -> None:
        with duckdb.connect(database) as duck:  # another tool stamps it while we wait
            duck.execute("DELETE FROM alembic_version")

    monkeypatch.setattr(migrate, "confirm", meanwhile)
    result = runner.invoke(app, ["migrate", "downgrade", "base", "-d", database])
    assert result.exit_code == ExitCode.ERROR
    assert "changed while the downgrade waited" in result.output
    with duckdb.connect(database, read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM projects").fetchone() == (0,)


def test_an_empty_file_check_ignores_a_path_it_cannot_read(tmp_path: Path) -> None:
    refuse_empty_file(str(tmp_path / "absent.duckdb"))  # the missing-file check reports that
