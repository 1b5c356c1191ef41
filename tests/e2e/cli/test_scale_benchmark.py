"""``benchmark --scale``: real files at 2,000 / 200 projects, happy and unhappy paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.selfbench import ScaleRow
from project_architect_db.selfbench._scale import ANSWERS, EVERYDAY_CALLS, SEARCHES

runner = CliRunner()
PROJECTS = 2_000


def scale(*args: str) -> list[str]:
    return ["benchmark", "--scale", "--projects", str(PROJECTS), "--rounds", "1", *args]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, object]]:
    """One full run: generates both files and their SQLite copies (reused by other tests)."""
    folder = tmp_path_factory.mktemp("scale")
    figures = folder / "scale.json"
    result = runner.invoke(
        app,
        scale("--data-dir", str(folder / "data"), "--json", str(figures)),
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return folder / "data", result.output, json.loads(figures.read_text())


def test_the_first_run_makes_both_files_and_prints_every_call(
    made: tuple[Path, str, dict[str, object]],
) -> None:
    data, output, _ = made
    assert "first run: generate 200, 2,000 projects and copy 2 file(s) to SQLite" in output
    assert sorted(path.name for path in data.iterdir() if not path.name.startswith(".")) == [
        "scale-200.duckdb",
        "scale-200.sqlite",
        "scale-2000.duckdb",
        "scale-2000.sqlite",
    ]
    for call in (*EVERYDAY_CALLS, *ANSWERS, *SEARCHES):
        assert f"│ {call} " in output
    assert "load average before" in output


def test_the_json_holds_every_call_at_both_sizes_with_ratios_and_verdicts(
    made: tuple[Path, str, dict[str, object]],
) -> None:
    _, _, report = made
    assert report["small_projects"] == 200
    assert report["large_projects"] == 2_000
    rows = report["rows"]
    assert isinstance(rows, list)
    assert [row["call"] for row in rows] == [*EVERYDAY_CALLS, *ANSWERS, *SEARCHES]
    for row in rows[-len(SEARCHES) :]:  # generated files hold no search index
        assert row["verdict"] == "not measured"
        assert row["large_ms"] is None
        assert "the file has no search index" in row["note"]
    for row in rows[: -len(SEARCHES)]:
        for key in ("small_ms", "large_ms", "large_raw_ms", "small_sqlite_ms", "large_sqlite_ms"):
            assert row[key] > 0, (row["call"], key)
        assert row["growth"] == pytest.approx(row["large_ms"] / row["small_ms"])
        assert row["ratio_raw"] == pytest.approx(row["large_ms"] / row["large_raw_ms"])
        assert row["ratio_sqlite"] == pytest.approx(row["large_ms"] / row["large_sqlite_ms"])
        assert row["verdict"] == "documented" or row["verdict"].startswith(("met", "MISSED"))
    kinds = {row["call"]: (row["kind"], row["sqlite_bar"]) for row in rows}
    assert kinds["page"] == ("everyday", "within 3x")
    assert kinds["offset 10000"] == ("everyday", None)
    assert kinds["project_health"] == ("analytics", ">= 10x faster")
    environment = report["environment"]
    assert isinstance(environment, dict)
    assert len(environment["load_average_before"]) == 3


def test_a_second_run_reuses_the_files_and_can_skip_sqlite(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    stamps = {path.name: path.stat().st_mtime_ns for path in data.iterdir()}
    figures = tmp_path / "again.json"
    result = runner.invoke(
        app, scale("--data-dir", str(data), "--no-sqlite", "--json", str(figures))
    )
    assert result.exit_code == 0, result.output
    assert "first run" not in result.output
    assert {path.name: path.stat().st_mtime_ns for path in data.iterdir()} == stamps
    rows = json.loads(figures.read_text())["rows"]
    assert all(row["large_sqlite_ms"] is None and row["sqlite_bar"] is None for row in rows)


def test_source_files_are_read_only_and_their_copies_go_to_the_data_dir(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    small, large = data / "scale-200.duckdb", data / "scale-2000.duckdb"
    before = (small.stat().st_mtime_ns, large.stat().st_mtime_ns)
    folder = tmp_path / "copies"
    result = runner.invoke(
        app,
        scale(
            "--source", str(small), "--source", str(large), "--data-dir", str(folder),
            "--json", str(tmp_path / "s.json"),
        ),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "copy 2 file(s) to SQLite" in result.output
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith(".")) == [
        "scale-200.sqlite",
        "scale-2000.sqlite",
    ]
    assert (small.stat().st_mtime_ns, large.stat().st_mtime_ns) == before


@pytest.mark.parametrize("projects", ["1990", "2005", "100"])
def test_bad_sizes_are_refused_before_anything_is_made(projects: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["benchmark", "--scale", "--projects", projects, "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == ExitCode.USAGE
    assert "--projects must be a multiple of 10 and at least 2,000" in result.output or (
        "100" in projects and "--projects" in result.output
    )
    assert not any((tmp_path / "d").glob("*.duckdb*"))


def test_a_data_dir_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for folder in (blocker, blocker / "below"):
        result = runner.invoke(app, scale("--data-dir", str(folder)))
        assert result.exit_code == ExitCode.USAGE, result.output
        assert f"--data-dir {folder}" in result.output
    assert blocker.read_text() == "not a directory"


def test_a_file_at_another_schema_revision_is_named_with_what_to_do(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("scale-200.duckdb", "scale-2000.duckdb"):
        shutil.copy(data / name, folder / name)
    with duckdb.connect(str(folder / "scale-200.duckdb")) as duck:
        duck.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    result = runner.invoke(app, scale("--data-dir", str(folder), "--no-sqlite"))
    assert result.exit_code == ExitCode.OUTDATED_SCHEMA, result.output
    assert "ffffffffffff" in result.output
    assert "Upgrade the library" in " ".join(result.output.split())


def test_a_sqlite_copy_of_other_data_is_refused_and_named(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("scale-200.duckdb", "scale-2000.duckdb", "scale-200.sqlite"):
        shutil.copy(data / name, folder / name)
    shutil.copy(data / "scale-200.sqlite", folder / "scale-2000.sqlite")  # the wrong copy
    result = runner.invoke(app, scale("--data-dir", str(folder)))
    assert result.exit_code == ExitCode.USAGE, result.output
    text = " ".join(result.output.split())
    assert "scale-2000.sqlite is a SQLite copy of" in text
    assert "delete" in text and "run again" in text


def test_a_half_made_file_left_by_an_interrupted_run_is_started_again(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(data / "scale-2000.duckdb", folder / "scale-2000.duckdb")
    (folder / "scale-200.duckdb.partial").write_bytes(b"half a file")  # killed mid-generation
    figures = tmp_path / "figures.json"
    result = runner.invoke(
        app, scale("--data-dir", str(folder), "--no-sqlite", "--json", str(figures))
    )
    assert result.exit_code == 0, result.output
    assert "first run: generate 200 projects" in result.output
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith(".")) == [
        "scale-200.duckdb",
        "scale-2000.duckdb",
    ]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (["missing.duckdb", "missing.duckdb"], "does not exist"),
        (["one.duckdb"], "--source takes two DuckDB files"),
        (["plain.duckdb", "plain.duckdb"], "is not a migrated project-architect-db database"),
    ],
)
def test_bad_sources_are_refused(sources: list[str], message: str, tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "plain.duckdb")) as duck:
        duck.execute("CREATE TABLE t (x INTEGER)")
    (tmp_path / "one.duckdb").write_bytes(b"")
    args = [part for source in sources for part in ("--source", str(tmp_path / source))]
    result = runner.invoke(app, scale("--data-dir", str(tmp_path / "d"), *args))
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in " ".join(result.output.split())


def test_strict_exits_1_when_a_bar_is_missed(
    made: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    data, _, _ = made
    result = runner.invoke(
        app,
        scale("--data-dir", str(data), "--no-sqlite", "--strict", "--json", str(tmp_path / "j")),
    )
    report = json.loads((tmp_path / "j").read_text())
    missed = [row for row in report["rows"] if row["verdict"].startswith("MISSED")]
    assert result.exit_code == (ExitCode.ERROR if missed else 0), result.output


def test_a_row_names_each_bar_it_misses() -> None:
    row = ScaleRow("page", "everyday", 5.0, 20.0, 4.0, 19.0, 1.0, 2.0, 10.0, 1.5, "within 3x")
    assert row.missed == ["> 10 ms", "growth > 1.5x", "> 3x SQLite"]
    assert row.verdict == "MISSED (> 10 ms, growth > 1.5x, > 3x SQLite)"
    fast = ScaleRow(
        "dora", "analytics", 5.0, 50.0, 4.0, 40.0, 100.0, 400.0, 1000.0, None, ">= 10x faster"
    )
    assert fast.missed == ["< 10x faster than SQLite"]
    assert ScaleRow("offset", "everyday", 1, 2, 1, 2, None, None, None, None, None).verdict == (
        "documented"
    )
