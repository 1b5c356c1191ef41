"""The CLI's rough edges: downgrade asks, duplicate seeds, unmigrated files, help, vacuum."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from tests._holder import hold_open
from tests.e2e.cli._terminal import run_in_terminal
from tests.integration.maintenance.helpers import content, fragmented, identical

runner = CliRunner()


def _invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


def _code(result: object) -> int:
    return int(result.exit_code)  # type: ignore[attr-defined]


def _out(result: object) -> str:
    return str(result.output)  # type: ignore[attr-defined]


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.duckdb")
    assert _code(_invoke("init", "--database", path)) == 0
    return path


def _tables(path: str) -> set[str]:
    with duckdb.connect(path, read_only=True) as duck:
        return {row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _revision(path: str) -> list[tuple[str]]:
    with duckdb.connect(path, read_only=True) as duck:
        return duck.execute("SELECT version_num FROM alembic_version").fetchall()


# -- 1. migrate downgrade asks before it drops tables ---------------------------------------------


@pytest.mark.subprocess
def test_downgrade_names_the_revisions_and_tables_and_goes_on_when_the_answer_is_yes(
    database: str,
) -> None:
    code, output = run_in_terminal(["migrate", "downgrade", "base", "--database", database], "y")
    assert code == 0, output
    assert "undo 0001" in output and "table projects" in output and "table messages" in output
    assert "Downgrade" in output and "back the file up first" in output
    assert _tables(database) == {"alembic_version"}


@pytest.mark.subprocess
def test_downgrade_answered_no_changes_nothing(database: str) -> None:
    code, output = run_in_terminal(["migrate", "downgrade", "base", "--database", database], "n")
    assert code == ExitCode.ERROR, output
    assert "nothing was changed" in output
    assert "projects" in _tables(database)
    assert _revision(database) == [("0003",)]


def test_downgrade_without_a_terminal_and_without_yes_refuses(database: str) -> None:
    result = _invoke("migrate", "downgrade", "base", "--database", database)
    assert _code(result) == ExitCode.USAGE
    assert "--yes" in _out(result) and "Nothing was changed" in _out(result)
    assert "table projects" in _out(result)  # the plan is printed before the refusal
    assert _revision(database) == [("0003",)]


def test_downgrade_to_an_unknown_revision_asks_nothing_and_changes_nothing(database: str) -> None:
    result = _invoke("migrate", "downgrade", "nonsense", "--database", database)
    assert _code(result) == ExitCode.ERROR
    assert "nonsense" in _out(result) and "left as it was" in _out(result)
    assert "--yes" not in _out(result)
    assert _revision(database) == [("0003",)]


def test_downgrade_to_the_current_revision_needs_no_confirmation(database: str) -> None:
    result = _invoke("migrate", "downgrade", "0003", "--database", database)
    assert _code(result) == 0, _out(result)
    assert _revision(database) == [("0003",)]


def test_downgrade_with_yes_drops_the_tables(database: str) -> None:
    result = _invoke("migrate", "downgrade", "base", "-y", "--database", database)
    assert _code(result) == 0, _out(result)
    assert _tables(database) == {"alembic_version"}


def test_db_reset_without_a_terminal_and_without_yes_refuses(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute("CREATE TABLE keep_me (x INTEGER)")
    result = _invoke("db-reset", "--database", database)
    assert _code(result) == ExitCode.USAGE
    assert "--yes" in _out(result)
    assert "keep_me" in _tables(database)


# -- 2. seeding the same rows twice -------------------------------------------------------------


def test_seeding_the_same_seed_twice_says_what_to_do_and_changes_nothing(database: str) -> None:
    assert _code(_invoke("seed", "--database", database, "--preset", "tiny")) == 0
    before = content(Path(database))
    again = _invoke("seed", "--database", database, "--preset", "tiny")
    assert _code(again) == ExitCode.ERROR
    message = _out(again)
    assert "--seed N" in message
    assert f"project-architect-db db-reset --database {database}" in message
    assert "upsert" not in message and "unchanged" in message
    assert content(Path(database)) == before


def test_a_larger_preset_with_the_same_seed_clashes_too_and_changes_nothing(database: str) -> None:
    assert _code(_invoke("seed", "--database", database, "--preset", "tiny", "--seed", "4")) == 0
    before = content(Path(database))
    clash = _invoke("seed", "--database", database, "--preset", "small", "--seed", "4")
    assert _code(clash) == ExitCode.ERROR
    assert "seed 4" in _out(clash) and "db-reset" in _out(clash)
    assert content(Path(database)) == before


def test_another_seed_adds_rows_beside_the_first(database: str) -> None:
    assert _code(_invoke("seed", "--database", database, "--preset", "tiny")) == 0
    other = _invoke("seed", "--database", database, "--preset", "tiny", "--seed", "7")
    assert _code(other) == 0, _out(other)
    with duckdb.connect(database, read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM projects").fetchone() == (10,)


# -- 3. commands on files without the schema ----------------------------------------------------

_TABLE_COMMANDS = [["db-analyze"], ["db-vacuum"], ["seed", "--preset", "tiny"]]


@pytest.mark.parametrize("command", _TABLE_COMMANDS, ids=lambda c: c[0])
def test_a_duckdb_file_without_the_schema_names_init_and_stays_empty(
    tmp_path: Path, command: list[str]
) -> None:
    path = str(tmp_path / "plain.duckdb")
    duckdb.connect(path).close()
    result = _invoke(*command, "--database", path)
    assert _code(result) == ExitCode.OUTDATED_SCHEMA, _out(result)
    assert f"project-architect-db init --database {path}" in _out(result)
    assert _tables(path) == set()


@pytest.mark.parametrize("command", _TABLE_COMMANDS, ids=lambda c: c[0])
def test_an_empty_file_names_init(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "touched.duckdb"
    path.touch()
    result = _invoke(*command, "--database", str(path))
    assert _code(result) == ExitCode.OUTDATED_SCHEMA, _out(result)
    assert "project-architect-db init" in _out(result) and "empty file" in _out(result)
    assert path.stat().st_size == 0


@pytest.mark.parametrize("command", _TABLE_COMMANDS, ids=lambda c: c[0])
def test_a_file_downgraded_to_base_names_init_or_upgrade(database: str, command: list[str]) -> None:
    assert _code(_invoke("migrate", "downgrade", "base", "--yes", "--database", database)) == 0
    result = _invoke(*command, "--database", database)
    assert _code(result) == ExitCode.OUTDATED_SCHEMA, _out(result)
    assert "migrate upgrade" in _out(result)
    assert _tables(database) == {"alembic_version"}


@pytest.mark.parametrize("command", _TABLE_COMMANDS, ids=lambda c: c[0])
def test_a_file_of_another_application_is_refused(tmp_path: Path, command: list[str]) -> None:
    path = str(tmp_path / "theirs.duckdb")
    with duckdb.connect(path) as duck:
        duck.execute("CREATE TABLE orders (id INTEGER)")
    result = _invoke(*command, "--database", path)
    assert _code(result) == ExitCode.ERROR, _out(result)
    assert "no alembic_version" in _out(result)
    assert _tables(path) == {"orders"}


def test_a_behind_schema_is_refused_by_analyze_but_vacuumed(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute("CREATE TABLE padb_marker (x INTEGER)")
        duck.execute("DELETE FROM alembic_version")
    analyze = _invoke("db-analyze", "--database", database)
    assert _code(analyze) == ExitCode.OUTDATED_SCHEMA
    assert "migrate upgrade" in _out(analyze)
    vacuum = _invoke("db-vacuum", "--database", database)
    assert _code(vacuum) == 0, _out(vacuum)  # compaction needs no particular revision


def test_init_turns_an_empty_file_into_a_database(tmp_path: Path) -> None:
    path = tmp_path / "touched.duckdb"
    path.touch()
    result = _invoke("init", "--database", str(path))
    assert _code(result) == 0, _out(result)
    assert "created" in _out(result)
    assert "projects" in _tables(str(path))


# -- 4. help shows no type after plain flags ----------------------------------------------------


def _every_command() -> list[list[str]]:
    # typer vendors its own click: its groups are not click.Group instances
    def walk(command: Any, prefix: list[str]) -> list[list[str]]:
        found = [prefix]
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                found += walk(sub, [*prefix, name])
        return found

    return walk(typer.main.get_command(app), [])


@pytest.mark.parametrize("command", _every_command(), ids=lambda c: " ".join(c) or "(top)")
def test_help_prints_no_bool_after_plain_flags(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert _code(result) == 0, _out(result)
    assert "<bool>" not in _out(result)
    assert "--help" in _out(result)


def test_every_command_is_covered_by_the_help_check() -> None:
    names = {" ".join(c) for c in _every_command()}
    assert {"", "db-vacuum", "db-reset", "migrate", "migrate downgrade", "seed"} <= names
    assert len(names) >= 17


def test_options_that_take_a_value_still_show_their_type() -> None:
    result = runner.invoke(app, ["migrate", "downgrade", "--help"], terminal_width=200)
    assert "<str>" in _out(result)  # --database takes a value
    assert "--yes" in _out(result) and "-y" in _out(result)


def test_a_flag_still_refuses_a_value(database: str) -> None:
    result = _invoke("db-analyze", "--json=yes", "--database", database)
    assert _code(result) == ExitCode.USAGE


# -- 5. db-vacuum gives space back --------------------------------------------------------------


@pytest.fixture
async def fragmented_file(tmp_path: Path, extension_directory: Path) -> Path:
    path = tmp_path / "fragmented.duckdb"
    await fragmented(path, extension_directory)
    return path


def test_db_vacuum_shrinks_the_file_and_reports_the_bytes(
    fragmented_file: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.duckdb"
    shutil.copy(fragmented_file, reference)
    before = fragmented_file.stat().st_size
    result = _invoke("db-vacuum", "--database", str(fragmented_file))
    assert _code(result) == 0, _out(result)
    after = fragmented_file.stat().st_size
    assert after < before
    assert f"{before:,} -> {after:,} bytes ({before - after:,} bytes reclaimed)" in _out(result)
    assert identical(reference, fragmented_file)


def test_db_vacuum_json_reports_rows_and_revision(fragmented_file: Path) -> None:
    result = _invoke("db-vacuum", "--database", str(fragmented_file), "--json")
    assert _code(result) == 0, _out(result)
    report = json.loads(_out(result))
    assert report["bytes_reclaimed"] == report["bytes_before"] - report["bytes_after"] > 0
    assert report["revision"] == "0003"
    assert report["rows"]["main.projects"] == 40


def test_db_vacuum_on_a_locked_file_exits_locked_and_changes_nothing(database: str) -> None:
    before = Path(database).read_bytes()
    holder = hold_open(database)
    try:
        result = _invoke("db-vacuum", "--database", database)
    finally:
        holder.communicate("\n", timeout=30)
    assert _code(result) == ExitCode.LOCKED
    assert str(holder.pid) in _out(result)
    assert Path(database).read_bytes() == before


def test_db_vacuum_on_a_missing_file_or_memory_is_refused(tmp_path: Path) -> None:
    missing = _invoke("db-vacuum", "--database", str(tmp_path / "absent.duckdb"))
    assert _code(missing) == ExitCode.MISSING_FILE
    assert "init" in _out(missing)
    memory = _invoke("db-vacuum", "--database", ":memory:")
    assert _code(memory) == ExitCode.USAGE
    assert not (tmp_path / "absent.duckdb").exists()
