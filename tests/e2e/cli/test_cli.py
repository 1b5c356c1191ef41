"""The CLI through typer's CliRunner and as a real subprocess, happy and unhappy paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from tests._holder import hold_open
from tests.e2e.cli._terminal import run_in_terminal

runner = CliRunner()


def _invoke(*args: str, input: str | None = None) -> object:
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.duckdb")
    result = _invoke("init", "--database", path)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return path


def test_help_lists_every_command() -> None:
    result = _invoke("--help")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    for command in ("init", "migrate", "db-reset", "db-analyze", "db-vacuum"):
        assert command in result.output  # type: ignore[attr-defined]


def test_init_creates_a_migrated_file_and_is_idempotent(tmp_path: Path) -> None:
    path = str(tmp_path / "new.duckdb")
    first = _invoke("init", "--database", path)
    second = _invoke("init", "--database", path)
    assert first.exit_code == second.exit_code == 0  # type: ignore[attr-defined]
    assert "created" in first.output and "checked" in second.output  # type: ignore[attr-defined]
    with duckdb.connect(path, read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM projects").fetchone() == (0,)


def test_init_refuses_memory_and_unusable_paths(tmp_path: Path) -> None:
    assert _invoke("init", "--database", ":memory:").exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _invoke("init", "--database", str(blocker / "x.duckdb"))
    assert result.exit_code == ExitCode.STORAGE  # type: ignore[attr-defined]


def test_the_database_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "env.duckdb")
    monkeypatch.setenv("PADB_DATABASE", path)
    assert _invoke("init").exit_code == 0  # type: ignore[attr-defined]
    assert Path(path).exists()


def test_migrate_current_history_and_check(database: str) -> None:
    current = _invoke("migrate", "current", "--database", database, "--json")
    assert current.exit_code == 0, current.output  # type: ignore[attr-defined]
    state = json.loads(current.output)  # type: ignore[attr-defined]
    assert state["up_to_date"] is True
    history = _invoke("migrate", "history", "--database", database)
    assert history.exit_code == 0 and "head" in history.output  # type: ignore[attr-defined]
    check = _invoke("migrate", "check", "--database", database)
    assert check.exit_code == 0 and "matches" in check.output  # type: ignore[attr-defined]


def test_migrate_downgrade_then_upgrade(database: str) -> None:
    down = _invoke("migrate", "downgrade", "base", "--yes", "--database", database)
    assert down.exit_code == 0, down.output  # type: ignore[attr-defined]
    assert "base" in down.output  # type: ignore[attr-defined]
    up = _invoke("migrate", "upgrade", "--database", database)
    assert up.exit_code == 0, up.output  # type: ignore[attr-defined]
    bad = _invoke("migrate", "downgrade", "nonsense", "--database", database)
    assert bad.exit_code != 0  # type: ignore[attr-defined]


def test_commands_on_a_missing_file_exit_with_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.duckdb")
    for command in (
        ["db-analyze"],
        ["db-vacuum"],
        ["db-reset", "--yes"],
        ["migrate", "current"],
        ["migrate", "upgrade"],
    ):
        result = _invoke(*command, "--database", path)
        assert result.exit_code == ExitCode.MISSING_FILE, (command, result.output)  # type: ignore[attr-defined]
        assert "init" in result.output  # type: ignore[attr-defined]
    assert not Path(path).exists()


def test_a_locked_file_exits_with_locked_and_names_the_pid(database: str) -> None:
    holder = hold_open(database)
    try:
        result = _invoke("db-analyze", "--database", database)
    finally:
        holder.communicate("\n", timeout=10)
    assert result.exit_code == ExitCode.LOCKED  # type: ignore[attr-defined]
    assert str(holder.pid) in result.output  # type: ignore[attr-defined]


def test_a_newer_schema_exits_with_outdated_schema(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute("UPDATE alembic_version SET version_num = '9999'")
    result = _invoke("db-analyze", "--database", database)
    assert result.exit_code == ExitCode.OUTDATED_SCHEMA, result.output  # type: ignore[attr-defined]


def test_db_analyze_reports_tables_and_json(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute(
            "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, "
            "architecture, metadata, created_at, updated_at, version) VALUES (uuid(), 'A', 'a', "
            "'draft', 'requirements', [], [], '{}', '{}', now()::timestamp, "
            "now()::timestamp, 1)"
        )
    table = _invoke("db-analyze", "--database", database)
    assert table.exit_code == 0, table.output  # type: ignore[attr-defined]
    assert "projects" in table.output  # type: ignore[attr-defined]
    report = json.loads(_invoke("db-analyze", "--database", database, "--json").output)  # type: ignore[attr-defined]
    rows = {t["table"]: t["rows"] for t in report["tables"]}
    assert rows["projects"] == 1
    assert report["file_bytes"] > 0
    assert any(index["unique"] for index in report["indexes"])


def test_db_vacuum_reports_bytes(database: str) -> None:
    result = _invoke("db-vacuum", "--database", database, "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    sizes = json.loads(result.output)  # type: ignore[attr-defined]
    assert sizes["bytes_before"] >= sizes["bytes_after"] > 0


def test_db_reset_asks_and_respects_no(database: str) -> None:
    with duckdb.connect(database) as duck:
        duck.execute("CREATE TABLE keep_me (x INTEGER)")
    code, output = run_in_terminal(["db-reset", "--database", database], "n")
    assert code == ExitCode.ERROR, output
    assert "Delete ALL data" in output and "nothing was changed" in output
    with duckdb.connect(database) as duck:
        assert duck.execute("SELECT count(*) FROM keep_me").fetchone() == (0,)
    accepted = _invoke("db-reset", "--database", database, "--yes")
    assert accepted.exit_code == 0, accepted.output  # type: ignore[attr-defined]


def test_bad_option_values_are_usage_errors(database: str) -> None:
    assert _invoke("db-analyze", "--database", database, "--jsn").exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    assert _invoke("no-such-command").exit_code == ExitCode.USAGE  # type: ignore[attr-defined]


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["migrate", "current"],
        ["migrate", "history"],
        ["migrate", "check"],
        ["migrate", "upgrade"],
        ["db-analyze", "--json"],
        ["db-vacuum"],
        ["db-reset", "--yes"],
    ],
)
def test_every_command_runs_as_a_real_subprocess(tmp_path: Path, command: list[str]) -> None:
    path = str(tmp_path / "sub.duckdb")
    if command != ["init"]:
        assert _invoke("init", "--database", path).exit_code == 0  # type: ignore[attr-defined]
    done = subprocess.run(
        [sys.executable, "-m", "project_architect_db", *command, "--database", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.subprocess
def test_seed_is_deterministic_and_reports_throughput(tmp_path: Path) -> None:
    # Real processes: the same command twice must write the same rows.
    counts = []
    for name in ("a", "b"):
        path = str(tmp_path / f"{name}.duckdb")
        assert _invoke("init", "--database", path).exit_code == 0  # type: ignore[attr-defined]
        done = subprocess.run(
            [sys.executable, "-m", "project_architect_db", "seed", "--database", path,
             "--preset", "tiny", "--seed", "3", "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["rows_per_second"] > 0
        with duckdb.connect(path, read_only=True) as duck:
            counts.append(duck.execute("SELECT count(*), min(name) FROM projects").fetchone())
        assert counts[-1][0] == summary["rows"]["projects"]
    assert counts[0] == counts[1]


def test_seed_in_process_prints_a_table(database: str) -> None:
    result = _invoke("seed", "--database", database, "--preset", "tiny", "--seed", "5")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "rows/s" in result.output  # type: ignore[attr-defined]
    assert "projects" in result.output  # type: ignore[attr-defined]


def test_seed_unhappy_paths(tmp_path: Path, database: str) -> None:
    missing = _invoke("seed", "--database", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == ExitCode.MISSING_FILE  # type: ignore[attr-defined]
    bad_preset = _invoke("seed", "--database", database, "--preset", "galactic")
    assert bad_preset.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    bad_seed = _invoke("seed", "--database", database, "--seed", "-1")
    assert bad_seed.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]


@pytest.mark.subprocess
def test_demo_prints_analytics_and_search_from_a_fresh_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "project_architect_db", "demo", "--preset", "tiny", "-d", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for heading in ("Project portfolio", "CI/CD health", "full-text search", "rows/s"):
        assert heading in done.stdout
    assert path.exists()


def test_demo_refuses_a_path_in_a_missing_folder(tmp_path: Path) -> None:
    result = _invoke("demo", "--preset", "tiny", "-d", str(tmp_path / "no" / "such" / "x.duckdb"))
    assert result.exit_code == ExitCode.STORAGE  # type: ignore[attr-defined]


def test_demo_refuses_to_replace_an_existing_file_without_overwrite(database: str) -> None:
    before = Path(database).read_bytes()
    result = _invoke("demo", "--preset", "tiny", "-d", database)
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    assert "--overwrite" in result.output  # type: ignore[attr-defined]
    assert Path(database).read_bytes() == before


def test_demo_overwrite_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    path.write_text("not a database, about to be replaced")
    result = _invoke("demo", "--preset", "tiny", "-d", str(path), "--overwrite")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Project portfolio" in result.output  # type: ignore[attr-defined]
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM projects").fetchone()
    assert row is not None
    assert row[0] > 0
