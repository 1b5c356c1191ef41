"""The scale benchmark's parts on real files: SQLite answers equal the library's, files are
whole or absent."""

from __future__ import annotations

import math
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import project_architect_db as padb
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.selfbench import plan_scale, run_scale
from project_architect_db.selfbench._scale import SEARCHES, _analytics, _files, _measure


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("parts")
    duck = padb.run(_files.duckdb_file(folder, 300))
    return duck, _files.sqlite_file(duck, folder)


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(float(left), float(right), rel_tol=1e-6, abs_tol=1e-3)
    if isinstance(left, datetime):
        moment = datetime.fromisoformat(str(right)) if isinstance(right, str) else right
        day = moment.date() if not isinstance(moment, datetime) else moment
        return left.replace(tzinfo=None) == day or left.date() == day
    return str(left).replace("-", "") == str(right).replace("-", "")


@pytest.mark.parametrize("name", _analytics.ANSWERS)
def test_the_sqlite_answer_equals_the_library_answer(name: str, files: tuple[Path, Path]) -> None:
    duck, lite = files

    async def library() -> tuple[list[dict[str, Any]], datetime]:
        async with padb.Database.open(duck, read_only=True, load_fts=False) as db:
            async with db.engine.connect() as conn:
                raw = await run_native(conn, lambda native: native.cursor())
            found = raw.execute("SELECT max(created_at) FROM projects").fetchone()
            raw.close()
            assert found is not None
            now = found[0].replace(tzinfo=UTC)
            query = _analytics.library_call(db.analytics, name, now)
            return (await query.to_arrow()).to_pylist(), now

    rows, now = padb.run(library())
    sql, params = _analytics.sqlite_answer(name, now)
    engine = create_engine(f"sqlite:///{lite}")
    with engine.connect() as connection:
        peer = [tuple(row) for row in connection.execute(text(sql), params).fetchall()]
    engine.dispose()
    assert len(peer) == len(rows)
    assert rows or name == "flakiest_repositories"  # 3 builds a repository: none has 5
    for mine, theirs in zip(rows, peer, strict=True):
        assert len(mine) == len(theirs)
        pairs = list(zip(mine.values(), theirs, strict=True))
        assert all(_same(a, b) for a, b in pairs), (name, [p for p in pairs if not _same(*p)])


def test_an_interrupted_generation_leaves_no_file(tmp_path: Path) -> None:
    def stop(what: str, done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        padb.run(_files.duckdb_file(tmp_path, 200, stop))
    assert list(tmp_path.iterdir()) == []


def test_too_little_disk_is_said_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_files.shutil, "disk_usage", lambda _: type("U", (), {"free": 10})())
    with pytest.raises(ConfigurationError, match=r"has 0\.0 GB free and the benchmark needs"):
        padb.run(_files.duckdb_file(tmp_path, 200))
    assert list(tmp_path.iterdir()) == []


def test_the_plan_says_what_the_first_run_makes(files: tuple[Path, Path], tmp_path: Path) -> None:
    plan = plan_scale(1_000_000, tmp_path, sources=None, sqlite=True)
    assert plan.to_generate == (100_000, 1_000_000)
    assert "about 19.5 GB of disk" in plan.describe()
    duck, _ = files
    assert plan_scale(2_000, duck.parent, sources=(duck, duck), sqlite=True).describe() == ""
    assert (
        "copy 2 file(s)"
        in plan_scale(2_000, tmp_path, sources=(duck, duck), sqlite=True).describe()
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rounds": 0}, "rounds must be >= 1"),
        ({"answers": ("nope",)}, "unknown answer nope"),
    ],
)
def test_bad_run_arguments_are_refused(
    arguments: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        padb.run(run_scale(2_000, tmp_path, **arguments))
    assert list(tmp_path.iterdir()) == []


def test_searches_are_timed_on_files_with_a_search_index(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    duck, _ = files
    indexed = tmp_path / "indexed.duckdb"
    indexed.write_bytes(duck.read_bytes())

    async def build() -> None:
        async with padb.Database.open(indexed) as db:
            await db.search.rebuild()

    padb.run(build())
    report = padb.run(
        run_scale(
            0, tmp_path, sources=(indexed, indexed), rounds=1, warmup=0, sqlite=False, answers=()
        )
    )
    searches = {row.call: row for row in report.rows if row.kind == "search"}
    assert list(searches) == list(SEARCHES)
    for row in searches.values():
        assert row.large_ms is not None and row.large_ms > 0
        assert row.large_raw_ms is None and row.ratio_raw is None
        assert row.verdict.startswith(("met", "MISSED")), row
        assert row.note == ""
    assert searches["search messages in a project"].bar_ms == 50.0
    assert searches["search documents"].bar_ms == 500.0


def test_searches_are_not_measured_without_an_index_and_the_report_says_why(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    duck, _ = files
    report = padb.run(
        run_scale(0, tmp_path, sources=(duck, duck), rounds=1, warmup=0, sqlite=False, answers=())
    )
    searches = [row for row in report.rows if row.kind == "search"]
    assert [row.verdict for row in searches] == ["not measured"] * 4
    assert all(row.missed == [] and row.growth is None for row in searches)
    assert all("has no search index" in row.note for row in searches)
    assert "| search messages | - | - | - |" in report.markdown()


def test_a_source_that_is_not_a_duckdb_file_is_a_storage_error(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.duckdb"
    text_file.write_text("not a database\n" * 100)
    with pytest.raises(StorageError, match="cannot open the DuckDB file"):
        padb.run(run_scale(0, tmp_path / "d", sources=(text_file, text_file), sqlite=False))
    assert text_file.read_text().startswith("not a database")


def test_a_sqlite_file_the_benchmark_did_not_make_is_refused(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    duck, _ = files
    stranger = tmp_path / f"{duck.stem}.sqlite"
    sqlite3.connect(stranger).close()  # made by hand: no record of its source
    with pytest.raises(ConfigurationError, match=r"an unknown file \(no record\)"):
        _files.sqlite_file(duck, tmp_path)
    assert stranger.exists()


def test_a_file_too_small_for_the_samples_says_how_many_projects_it_needs(tmp_path: Path) -> None:
    tiny = padb.run(_files.duckdb_file(tmp_path, 20))
    with pytest.raises(ConfigurationError, match="at least 50 active projects"):
        padb.run(run_scale(0, tmp_path, sources=(tiny, tiny), sqlite=False, answers=()))


def test_a_contestant_slower_than_the_limit_runs_once_and_the_report_says_so(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duck, lite = files
    monkeypatch.setattr(_measure, "SLOW_SECONDS", 0.0)
    shutil.copy(lite, tmp_path / lite.name)
    report = padb.run(
        run_scale(0, tmp_path, sources=(duck, duck), rounds=2, warmup=0, answers=("portfolio",))
    )
    (portfolio,) = [row for row in report.rows if row.kind == "analytics"]
    assert portfolio.rounds == 1
    assert portfolio.note == "library, raw, sqlite: one run (over 0 s)"
    assert portfolio.large_sqlite_ms is not None
