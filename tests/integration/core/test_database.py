"""Opening, locking, read-only use and closing of Database files, with real OS processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from project_architect_db import (
    ConfigurationError,
    Database,
    DatabaseLockedError,
    ProjectArchitectDBError,
    ReadOnlyError,
    Settings,
    StorageError,
)
from tests._holder import hold_open


async def _create_file(path: Path, extension_directory: Path) -> None:
    async with Database.open(path, extension_directory=extension_directory) as db:
        async with db.transaction() as tx:
            await tx.execute(text("CREATE TABLE notes (id INTEGER, body VARCHAR)"))
            await tx.execute(text("INSERT INTO notes VALUES (1, 'kept')"))


@pytest.mark.subprocess
async def test_a_file_held_by_another_process_raises_locked_with_its_pid(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "locked.duckdb"
    await _create_file(path, extension_directory)
    holder = hold_open(path)
    try:
        started = time.perf_counter()
        with pytest.raises(DatabaseLockedError) as info:
            async with Database.open(path, extension_directory=extension_directory):
                pass
        assert time.perf_counter() - started < 1.0
        assert info.value.pid == holder.pid
        assert f"process {holder.pid}" in str(info.value)
        assert "read_only=True" in str(info.value)
        # read-only opens are refused too while the writer holds the file
        with pytest.raises(DatabaseLockedError):
            async with Database.open(path, read_only=True, extension_directory=extension_directory):
                pass
    finally:
        holder.communicate("\n", timeout=10)
    # once the writer has gone, the file opens and the data is intact
    async with Database.open(path, read_only=True, extension_directory=extension_directory) as db:
        async with db.session() as session:
            assert (await session.execute(text("SELECT body FROM notes"))).scalar_one() == "kept"


@pytest.mark.subprocess
def test_a_second_process_using_the_library_gets_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    holder = hold_open(path)
    script = textwrap.dedent(
        f"""
        import project_architect_db as padb
        async def main():
            try:
                async with padb.Database.open({str(path)!r}, load_fts=False):
                    print("opened")
            except padb.DatabaseLockedError as error:
                print("locked", error.pid)
        padb.run(main())
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        holder.communicate("\n", timeout=10)
    assert done.stdout.split() == ["locked", str(holder.pid)], done.stderr


async def test_writes_on_a_read_only_database_raise_read_only(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "ro.duckdb"
    await _create_file(path, extension_directory)
    async with Database.open(path, read_only=True, extension_directory=extension_directory) as db:
        with pytest.raises(ReadOnlyError, match="read-only"):
            async with db.transaction() as tx:
                await tx.execute(text("INSERT INTO notes VALUES (2, 'lost')"))
        with pytest.raises(ReadOnlyError):
            async with db.transaction() as tx:
                await tx.execute(text("CREATE TABLE more (x INTEGER)"))
        async with db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 1


async def test_a_file_that_is_not_duckdb_raises_storage_error_and_stays_untouched(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(StorageError, match="not a readable DuckDB database"):
        async with Database.open(path, extension_directory=extension_directory):
            pass
    assert path.read_text() == "not a database\n" * 100


async def test_opening_read_only_a_missing_file_raises_storage_error(
    tmp_path: Path, extension_directory: Path
) -> None:
    with pytest.raises(StorageError):
        async with Database.open(
            tmp_path / "absent.duckdb", read_only=True, extension_directory=extension_directory
        ):
            pass
    assert not (tmp_path / "absent.duckdb").exists()


async def test_closing_checkpoints_the_write_ahead_log(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "wal.duckdb"
    db = await Database.open(path, extension_directory=extension_directory)
    async with db.transaction() as tx:
        await tx.execute(text("CREATE TABLE t AS SELECT range AS x FROM range(1000)"))
    await db.close()
    wal = Path(f"{path}.wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with pytest.raises(ProjectArchitectDBError, match="closed"):
        db.engine  # noqa: B018


async def test_the_fts_extension_is_loaded_from_its_wheel_offline(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "ext"
    async with Database.open(":memory:", extension_directory=directory) as db:
        async with db.session() as session:
            loaded = await session.execute(
                text("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'fts'")
            )
            assert loaded.scalar_one() is True
    assert list(directory.glob("v*/*/fts.duckdb_extension"))


def test_settings_come_from_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PADB_DATABASE", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("PADB_THREADS", "2")
    monkeypatch.setenv("PADB_MEMORY_LIMIT", "512MB")
    db = Database.open()
    assert db.settings.database == str(tmp_path / "env.duckdb")
    assert db.settings.threads == 2
    assert db.settings.memory_limit == "512MB"
    # explicit arguments win over the environment
    assert Database.open(":memory:", threads=1).settings.threads == 1


async def test_threads_and_memory_limit_reach_duckdb(
    tmp_path: Path, extension_directory: Path
) -> None:
    async with (
        Database.open(
            tmp_path / "cfg.duckdb",
            threads=1,
            memory_limit="256MB",
            extension_directory=extension_directory,
        ) as db,
        db.session() as session,
    ):
        row = (
            await session.execute(
                text("SELECT current_setting('threads'), current_setting('memory_limit')")
            )
        ).one()
    assert row[0] == 1
    assert row[1].startswith("244") or "MiB" in row[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threads": 0}, "threads"),
        ({"memory_limit": "lots"}, "memory_limit"),
        ({"pool_size": -1}, "pool_size"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"target": "   "}, "database"),
    ],
)
def test_invalid_settings_raise_configuration_error(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Database.open(**kwargs)  # type: ignore[arg-type]


def test_an_in_memory_database_cannot_be_read_only() -> None:
    with pytest.raises(ConfigurationError, match="in-memory"):
        Database.open(":memory:", read_only=True)


def test_using_a_database_before_opening_it_says_how_to_open_it() -> None:
    db = Database.open(":memory:")
    with pytest.raises(ProjectArchitectDBError, match=r"async with Database\.open"):
        db.session()


async def test_settings_object_and_overrides_combine(tmp_path: Path) -> None:
    base = Settings(database=str(tmp_path / "a.duckdb"), threads=2)
    db = Database.open(settings=base, threads=1, load_fts=False)
    assert (db.settings.database, db.settings.threads, db.settings.load_fts) == (
        str(tmp_path / "a.duckdb"),
        1,
        False,
    )
    async with db:
        assert "open" in repr(db)
        await db.checkpoint()
    assert "closed" in repr(db)


async def test_await_open_then_close(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "b.duckdb", load_fts=False)
    try:
        async with db.session() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.close()
    await db.close()  # closing twice is harmless


async def test_a_path_below_a_regular_file_gives_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        async with Database.open(blocker / "x.duckdb", load_fts=False):
            pass
    assert blocker.read_text() == "x"
