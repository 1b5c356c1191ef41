"""``migrate current``/``history --json``/``revision``/``check``/``stamp`` on real DuckDB files.

Every command runs in-process through typer's CliRunner against DuckDB files in ``tmp_path``;
the assertions read the files back with plain ``duckdb`` to prove what a command did (or, when
it refused, did not) write.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.migration import VERSIONS_DIRECTORY
from project_architect_db.models import Base
from tests._holder import hold_open

runner = CliRunner()

HEAD = "0003"
NOT_DUCKDB = b"this is a text file, not a DuckDB database\n"
PROJECT_ROW = (
    "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version) VALUES (uuid(), 'Kept', 'kept', 'draft', "
    "'requirements', [], [], '{}', '{}', now()::timestamp, now()::timestamp, 1)"
)


def _invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _package_revisions() -> list[str]:
    return sorted(p.name for p in VERSIONS_DIRECTORY.glob("*.py") if not p.name.startswith("__"))


def _sql(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as duck:
        for statement in statements:
            duck.execute(statement)


def _versions(path: Path) -> list[str] | None:
    """The rows of ``alembic_version``; ``None`` when the table does not exist."""
    with duckdb.connect(str(path), read_only=True) as duck:
        exists = duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alembic_version'"
        ).fetchone()
        assert exists is not None
        if exists[0] == 0:
            return None
        return sorted(
            row[0] for row in duck.execute("SELECT version_num FROM alembic_version").fetchall()
        )


def _tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return {row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _columns(path: Path, table: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return [
            row[0]
            for row in duck.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                "ORDER BY column_index",
                [table],
            ).fetchall()
        ]


def _project_names(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return [
            row[0] for row in duck.execute("SELECT name FROM projects ORDER BY name").fetchall()
        ]


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """A file made by ``init`` (schema at head) holding one project row."""
    path = tmp_path / "architect.duckdb"
    result = _invoke("init", "--database", str(path))
    assert result.exit_code == 0, result.output
    _sql(path, PROJECT_ROW)
    return path


@pytest.fixture
def not_duckdb(tmp_path: Path) -> Path:
    """A file that exists but is not a DuckDB database."""
    path = tmp_path / "notes.duckdb"
    path.write_bytes(NOT_DUCKDB)
    return path


# -- migrate current (text) ---------------------------------------------------------------------


def test_current_says_up_to_date_at_head(migrated: Path) -> None:
    result = _invoke("migrate", "current", "--database", str(migrated))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"current: {HEAD}  head: {HEAD}  (up to date)"


def test_current_says_behind_after_a_downgrade(migrated: Path) -> None:
    assert (
        _invoke("migrate", "downgrade", "base", "--yes", "--database", str(migrated)).exit_code == 0
    )
    result = _invoke("migrate", "current", "--database", str(migrated))
    assert result.exit_code == 0, result.output
    assert f"head: {HEAD}  (behind)" in result.stdout
    assert "up to date" not in result.stdout


def test_current_on_a_file_that_is_not_duckdb_leaves_it_untouched(not_duckdb: Path) -> None:
    result = _invoke("migrate", "current", "--database", str(not_duckdb))
    assert result.exit_code == ExitCode.STORAGE
    assert result.stdout == ""
    assert "not a readable DuckDB database" in result.stderr
    assert not_duckdb.read_bytes() == NOT_DUCKDB


def test_current_on_a_locked_file_names_the_holder(migrated: Path) -> None:
    holder = hold_open(migrated)
    try:
        result = _invoke("migrate", "current", "--database", str(migrated))
    finally:
        holder.communicate("\n", timeout=10)
    assert result.exit_code == ExitCode.LOCKED
    assert result.stdout == ""
    assert str(holder.pid) in result.stderr


# -- migrate history --json ----------------------------------------------------------------------


def test_history_json_lists_every_revision_marking_current_and_head(migrated: Path) -> None:
    result = _invoke("migrate", "history", "--database", str(migrated), "--json")
    assert result.exit_code == 0, result.output
    revisions = json.loads(result.stdout)
    assert len(revisions) == len(_package_revisions())
    latest = revisions[0]
    assert set(latest) == {"revision", "down_revision", "message", "is_current", "is_head", "path"}
    assert latest["revision"] == HEAD
    assert latest["is_current"] is True
    assert latest["is_head"] is True
    assert latest["down_revision"] == "0002"
    assert latest["message"].startswith("Semantic search")
    assert revisions[-1]["down_revision"] is None
    assert revisions[-1]["message"].startswith("Initial schema")
    assert Path(latest["path"]).parent == VERSIONS_DIRECTORY
    assert Path(latest["path"]).is_file()


def test_history_json_marks_nothing_current_after_a_downgrade_to_base(migrated: Path) -> None:
    assert (
        _invoke("migrate", "downgrade", "base", "--yes", "--database", str(migrated)).exit_code == 0
    )
    result = _invoke("migrate", "history", "--database", str(migrated), "--json")
    assert result.exit_code == 0, result.output
    revisions = json.loads(result.stdout)
    assert [r["is_current"] for r in revisions] == [False] * len(revisions)
    assert [r["revision"] for r in revisions if r["is_head"]] == [HEAD]


def test_history_json_on_a_missing_file_prints_no_json_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "absent.duckdb"
    result = _invoke("migrate", "history", "--database", str(path), "--json")
    assert result.exit_code == ExitCode.MISSING_FILE
    assert result.stdout == ""
    assert f"project-architect-db init --database {path}" in result.stderr
    assert not path.exists()


def test_history_json_on_a_file_that_is_not_duckdb_leaves_it_untouched(not_duckdb: Path) -> None:
    result = _invoke("migrate", "history", "--database", str(not_duckdb), "--json")
    assert result.exit_code == ExitCode.STORAGE
    assert result.stdout == ""
    assert "not a readable DuckDB database" in result.stderr
    assert not_duckdb.read_bytes() == NOT_DUCKDB


def test_history_json_refuses_memory() -> None:
    result = _invoke("migrate", "history", "--database", ":memory:", "--json")
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert "needs a database file" in result.stderr


def test_history_json_on_a_locked_file_names_the_holder(migrated: Path) -> None:
    holder = hold_open(migrated)
    try:
        result = _invoke("migrate", "history", "--database", str(migrated), "--json")
    finally:
        holder.communicate("\n", timeout=10)
    assert result.exit_code == ExitCode.LOCKED
    assert result.stdout == ""
    assert str(holder.pid) in result.stderr


# -- migrate revision ----------------------------------------------------------------------------


def test_revision_autogenerates_the_difference_into_the_given_folder(
    migrated: Path, tmp_path: Path
) -> None:
    _sql(migrated, "ALTER TABLE projects ADD COLUMN extra INTEGER")
    folder = tmp_path / "revisions"
    package_before = _package_revisions()
    result = _invoke(
        "migrate", "revision", "drop extra", "--database", str(migrated), "--directory", str(folder)
    )
    assert result.exit_code == 0, result.output
    written = list(folder.glob("*.py"))
    assert len(written) == 1
    assert written[0].name.endswith("_0004_drop_extra.py")
    assert str(written[0]) in result.stdout.replace("\n", "")
    source = written[0].read_text()
    compile(source, str(written[0]), "exec")
    assert "revision: str = '0004'" in source
    assert "down_revision: str | Sequence[str] | None = '0003'" in source
    assert "batch_op.drop_column('extra')" in source
    assert "sa.Column('extra', sa.INTEGER()" in source  # the downgrade puts it back
    # Writing a revision file changes neither the database nor the package.
    assert _versions(migrated) == [HEAD]
    assert "extra" in _columns(migrated, "projects")
    assert _project_names(migrated) == ["Kept"]
    assert _package_revisions() == package_before


def test_revision_without_autogenerate_writes_an_empty_revision(
    migrated: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "manual step", "--database", str(migrated),
        "--directory", str(folder), "--no-autogenerate",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (written,) = folder.glob("*.py")
    assert written.name.endswith("_0004_manual_step.py")
    source = written.read_text()
    assert "down_revision: str | Sequence[str] | None = '0003'" in source
    assert "op." not in source.split("def upgrade", 1)[1]
    assert _versions(migrated) == [HEAD]


def test_revision_on_a_missing_file_writes_nothing(tmp_path: Path) -> None:
    path, folder = tmp_path / "absent.duckdb", tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", str(path), "--directory", str(folder)
    )
    assert result.exit_code == ExitCode.MISSING_FILE
    assert "project-architect-db init" in result.stderr
    assert not path.exists()
    assert not folder.exists()


def test_revision_refuses_memory_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", ":memory:", "--directory", str(folder)
    )
    assert result.exit_code == ExitCode.USAGE
    assert "needs a database file" in result.stderr
    assert not folder.exists()


def test_revision_autogenerate_refuses_a_database_behind_head(
    migrated: Path, tmp_path: Path
) -> None:
    assert (
        _invoke("migrate", "downgrade", "base", "--yes", "--database", str(migrated)).exit_code == 0
    )
    folder = tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", str(migrated), "--directory", str(folder)
    )
    assert result.exit_code == ExitCode.ERROR
    assert "not up to date" in result.stderr
    assert "left as it was" in result.stderr
    assert list(folder.glob("*.py")) == []
    assert _versions(migrated) == []
    assert "projects" not in _tables(migrated)


def test_revision_autogenerate_refuses_a_revision_this_code_does_not_know(
    migrated: Path, tmp_path: Path
) -> None:
    _sql(migrated, "UPDATE alembic_version SET version_num = '9999'")
    folder = tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", str(migrated), "--directory", str(folder)
    )
    assert result.exit_code == ExitCode.OUTDATED_SCHEMA
    assert "9999" in result.stderr
    assert "Upgrade the library" in result.stderr
    assert list(folder.glob("*.py")) == []
    assert _versions(migrated) == ["9999"]
    assert _project_names(migrated) == ["Kept"]


@pytest.mark.parametrize(
    "command",
    [
        ["current"],
        ["current", "--json"],
        ["history", "--json"],
        ["upgrade"],
        ["downgrade", "base"],
        ["stamp", "0001"],
    ],
)
def test_a_database_from_a_newer_library_is_refused_with_the_upgrade_advice(
    migrated: Path, command: list[str]
) -> None:
    _sql(migrated, "UPDATE alembic_version SET version_num = '9999'")
    result = _invoke("migrate", *command, "--database", str(migrated))
    assert result.exit_code == ExitCode.OUTDATED_SCHEMA, result.output
    assert "9999" in result.stderr
    assert "Upgrade the library" in result.stderr
    assert "behind" not in result.stdout
    assert _versions(migrated) == ["9999"]  # nothing was migrated or stamped
    assert _project_names(migrated) == ["Kept"]


def test_current_and_stamp_name_the_base_instead_of_none(migrated: Path) -> None:
    assert (
        _invoke("migrate", "downgrade", "base", "--yes", "--database", str(migrated)).exit_code == 0
    )
    shown = _invoke("migrate", "current", "--database", str(migrated))
    assert shown.exit_code == 0
    assert "current: base (no schema)" in shown.stdout
    assert "None" not in shown.stdout
    stamped = _invoke("migrate", "stamp", "base", "--database", str(migrated))
    assert stamped.exit_code == 0
    assert "schema stamped at base (no schema)" in stamped.stdout


def test_revision_on_a_file_that_is_not_duckdb_writes_nothing(
    not_duckdb: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", str(not_duckdb), "--directory", str(folder)
    )
    assert result.exit_code == ExitCode.STORAGE
    assert "not a readable DuckDB database" in result.stderr
    assert not folder.exists()
    assert not_duckdb.read_bytes() == NOT_DUCKDB


# -- migrate check (differences) -----------------------------------------------------------------


def test_check_reports_a_column_the_models_lack_and_changes_nothing(migrated: Path) -> None:
    _sql(migrated, "ALTER TABLE projects ADD COLUMN extra INTEGER")
    result = _invoke("migrate", "check", "--database", str(migrated))
    assert result.exit_code == ExitCode.ERROR
    differences = [line for line in result.stdout.splitlines() if line.startswith("differs:")]
    assert len(differences) == 1
    assert "'remove_column'" in differences[0]
    assert "'projects'" in differences[0]
    assert "'extra'" in differences[0]
    assert "matches" not in result.stdout
    assert "extra" in _columns(migrated, "projects")
    assert _versions(migrated) == [HEAD]
    assert _project_names(migrated) == ["Kept"]


def test_check_reports_a_missing_table(migrated: Path) -> None:
    _sql(migrated, "DROP TABLE builds")
    result = _invoke("migrate", "check", "--database", str(migrated))
    assert result.exit_code == ExitCode.ERROR
    assert "differs: ('add_table', Table('builds'" in result.stdout
    assert "differs: ('add_index', Index('ix_builds_repository_id'" in result.stdout
    assert "builds" not in _tables(migrated)


def test_check_on_an_empty_duckdb_file_lists_every_model_table_and_creates_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    result = _invoke("migrate", "check", "--database", str(path))
    assert result.exit_code == ExitCode.ERROR
    for table in Base.metadata.tables:
        assert f"differs: ('add_table', Table('{table}'" in result.stdout, table
    assert _tables(path) == set()


def test_check_on_a_file_that_is_not_duckdb_is_a_storage_error(not_duckdb: Path) -> None:
    result = _invoke("migrate", "check", "--database", str(not_duckdb))
    assert result.exit_code == ExitCode.STORAGE
    assert "differs" not in result.output
    assert "restore the file from a backup" in result.stderr
    assert not_duckdb.read_bytes() == NOT_DUCKDB


# -- migrate stamp -------------------------------------------------------------------------------


@pytest.fixture
def version_lost(migrated: Path) -> Path:
    """This library's schema and data, but its ``alembic_version`` table was dropped."""
    _sql(migrated, "DROP TABLE alembic_version")
    return migrated


def test_stamp_records_the_revision_so_the_file_opens_again(version_lost: Path) -> None:
    refused = _invoke("db-analyze", "--database", str(version_lost))
    assert refused.exit_code == ExitCode.ERROR
    assert "migrate stamp <revision>" in refused.stderr  # the advice this test follows
    result = _invoke("migrate", "stamp", HEAD, "--database", str(version_lost))
    assert result.exit_code == 0, result.output
    assert f"schema stamped at {HEAD}" in result.stdout
    assert _versions(version_lost) == [HEAD]
    assert _project_names(version_lost) == ["Kept"]  # no migration ran: the rows are there
    assert _invoke("db-analyze", "--database", str(version_lost)).exit_code == 0


def test_stamp_an_unknown_revision_records_nothing(version_lost: Path) -> None:
    result = _invoke("migrate", "stamp", "nonsense", "--database", str(version_lost))
    assert result.exit_code == ExitCode.ERROR
    assert "'nonsense'" in result.stderr
    assert "left as it was" in result.stderr
    assert _versions(version_lost) is None
    assert _project_names(version_lost) == ["Kept"]


def test_stamp_an_unknown_revision_keeps_the_current_one(migrated: Path) -> None:
    result = _invoke("migrate", "stamp", "9999", "--database", str(migrated))
    assert result.exit_code == ExitCode.ERROR
    assert "'9999'" in result.stderr
    assert _versions(migrated) == [HEAD]
    assert _project_names(migrated) == ["Kept"]


def test_stamp_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    result = _invoke("migrate", "stamp", HEAD, "--database", str(path))
    assert result.exit_code == ExitCode.MISSING_FILE
    assert f"project-architect-db init --database {path}" in result.stderr
    assert not path.exists()


def test_stamp_refuses_memory() -> None:
    result = _invoke("migrate", "stamp", HEAD, "--database", ":memory:")
    assert result.exit_code == ExitCode.USAGE
    assert "needs a database file" in result.stderr


def test_stamp_on_a_locked_file_names_the_holder_and_records_nothing(version_lost: Path) -> None:
    holder = hold_open(version_lost)
    try:
        result = _invoke("migrate", "stamp", HEAD, "--database", str(version_lost))
    finally:
        holder.communicate("\n", timeout=10)
    assert result.exit_code == ExitCode.LOCKED
    assert str(holder.pid) in result.stderr
    assert _versions(version_lost) is None


def test_stamp_on_a_file_that_is_not_duckdb_leaves_it_untouched(not_duckdb: Path) -> None:
    result = _invoke("migrate", "stamp", HEAD, "--database", str(not_duckdb))
    assert result.exit_code == ExitCode.STORAGE
    assert "not a readable DuckDB database" in result.stderr
    assert not_duckdb.read_bytes() == NOT_DUCKDB


def test_revision_into_a_file_instead_of_a_folder_is_refused_clearly(
    migrated: Path, tmp_path: Path
) -> None:
    occupied = tmp_path / "not-a-folder"
    occupied.write_text("keep me")
    result = _invoke(
        "migrate", "revision", "x", "--database", str(migrated), "--directory", str(occupied)
    )
    assert result.exit_code == ExitCode.ERROR
    assert "is a file, not a folder" in result.stderr
    assert "FileExistsError" not in result.stderr
    assert occupied.read_text() == "keep me"


def test_a_failed_revision_leaves_no_empty_folder_but_keeps_an_existing_one(
    migrated: Path, tmp_path: Path
) -> None:
    _invoke(
        "migrate", "downgrade", "base", "--yes", "--database", str(migrated)
    )  # not at head: refused
    fresh = tmp_path / "new" / "revisions"
    result = _invoke(
        "migrate", "revision", "x", "--database", str(migrated), "--directory", str(fresh)
    )
    assert result.exit_code == ExitCode.ERROR
    assert "not up to date" in result.stderr
    assert not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    again = _invoke(
        "migrate", "revision", "x", "--database", str(migrated), "--directory", str(existing)
    )
    assert again.exit_code == ExitCode.ERROR
    assert existing.is_dir()  # the user's folder is not removed
