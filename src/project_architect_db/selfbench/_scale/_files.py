"""The benchmark's data: two DuckDB files 10x apart, and their SQLite copies.

Files live in a data directory and are reused by later runs: ``scale-<N>.duckdb`` (made with
the batched generator, issue 13's shape: per project 1 conversation of 10 messages, 1 document
with 1 history row, 1 repository with 3 builds and 1 deployment) and ``<stem>.sqlite`` (the
copy with the peer's indexes). Each is made under a ``.partial`` name and renamed when
complete, so an interrupted run never leaves a file a later run would take for a whole one;
the next run deletes the leftover and starts that file again. A DuckDB file given with
``--source`` is only read (read-only), never written.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb

from project_architect_db.datagen import SCALE_SIZES, generate_batches
from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.selfbench._sqlite_peer import copy_to_sqlite

__all__ = [
    "DataPlan",
    "SCALE_NOW",
    "duckdb_file",
    "estimate",
    "sqlite_file",
    "source_revision",
]

#: The clock of generated files (the one ``/work/scale`` files were made with).
SCALE_NOW: Final = datetime(2026, 12, 1, tzinfo=UTC)
#: Measured at 100k and 1M projects (issue 13's shape): bytes and seconds per project.
_DUCKDB_BYTES: Final = 5_100
_SQLITE_BYTES: Final = 12_600
_GENERATE_SECONDS: Final = 0.003
_COPY_SECONDS: Final = 0.002
#: SQLite copy size / DuckDB file size.
_SQLITE_PER_DUCKDB: Final = 2.5
#: The table recording, in a SQLite copy, which DuckDB file (and schema revision) it came from.
_ORIGIN: Final = "padb_peer_origin"

Progress = Callable[[str, int, int], None]
"""Called with ``(what, done, total)`` while a file is made."""


@dataclass(frozen=True, slots=True)
class DataPlan:
    """What a run will make before it measures: files, disk and time (estimates)."""

    to_generate: tuple[int, ...]
    to_copy: int
    disk_bytes: int
    seconds: float

    def describe(self) -> str:
        """One sentence for the console (empty when every file exists)."""
        if not self.to_generate and not self.to_copy:
            return ""
        parts = [f"generate {', '.join(f'{n:,}' for n in self.to_generate)} projects"]
        if not self.to_generate:
            parts = []
        if self.to_copy:
            parts.append(f"copy {self.to_copy} file(s) to SQLite")
        minutes = max(1, round(self.seconds / 60))
        return (
            f"first run: {' and '.join(parts)}: about {self.disk_bytes / 1e9:.1f} GB of disk "
            f"and {minutes} min on a quiet machine (files are kept for the next run)"
        )


def estimate(generate: list[int], copy: list[int]) -> DataPlan:
    """Disk and time to generate the ``generate`` sizes and copy the ``copy`` sizes."""
    disk = sum(n * _DUCKDB_BYTES for n in generate) + sum(n * _SQLITE_BYTES for n in copy)
    seconds = sum(n * _GENERATE_SECONDS for n in generate)
    seconds += sum(n * _COPY_SECONDS for n in copy)
    return DataPlan(tuple(generate), len(copy), disk, seconds)


def check_data_dir(folder: Path) -> None:
    """Create ``folder`` if needed and check it can be written.

    Raises:
        ConfigurationError: It is a file, or it cannot be created or written.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"--data-dir {folder} is a file: give a directory.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".padb-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigurationError(
            f"--data-dir {folder} cannot be written ({error.strerror or error}): give a "
            "directory you can write, with room for the files (see the estimate)."
        ) from error


def generated_path(folder: Path, projects: int) -> Path:
    """Where the generated file of ``projects`` projects lives."""
    return folder / f"scale-{projects}.duckdb"


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ConfigurationError(
            f"{folder} has {free / 1e9:.1f} GB free and the benchmark needs about "
            f"{needed / 1e9:.1f} GB: free some space, pick another --data-dir, or pass "
            "smaller --projects."
        )


async def duckdb_file(folder: Path, projects: int, progress: Progress | None = None) -> Path:
    """The generated file of ``projects`` projects in ``folder``: reused, or made now.

    Made under a ``.partial`` name with the batched generator (memory follows one batch), a
    transaction per batch (the file is new: a failure deletes it whole), checkpointed, then
    renamed.

    Raises:
        ConfigurationError: Not enough free disk.
    """
    from project_architect_db import Database

    path = generated_path(folder, projects)
    if path.exists():
        return path
    partial = _partial(path)
    partial.unlink(missing_ok=True)  # a run interrupted while generating: start again
    partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    _free_space(folder, projects * _DUCKDB_BYTES)
    sizes = dict(SCALE_SIZES) | {"projects": projects}
    try:
        async with Database.open(partial, load_fts=False) as db:
            done = 0
            for batch in generate_batches(13, now=SCALE_NOW, **sizes):  # type: ignore[arg-type]
                async with db.transaction() as tx:
                    await tx.run_native(batch.load)
                done += batch.projects.num_rows
                del batch
                if progress is not None:
                    progress(f"generating {path.name}", done, projects)
            await db.checkpoint()
    except BaseException:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


def source_revision(path: Path) -> str:
    """What the DuckDB file ``path`` holds: its schema revision and row counts (read-only).

    A SQLite copy records it, and is reused only for a source that gives the same text.

    Raises:
        StorageError: It cannot be opened.
        ConfigurationError: It is not a migrated project-architect-db database.
    """
    try:
        duck = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise StorageError(f"cannot open the DuckDB file {path}: {error}") from error
    try:
        rows = duck.execute("SELECT version_num FROM alembic_version").fetchall()
        counted = duck.execute(
            "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM messages)"
        ).fetchone()
    except duckdb.Error as error:
        raise ConfigurationError(
            f"{path} is not a migrated project-architect-db database (no alembic_version or "
            "no projects): give a file the library made, or let the benchmark generate one."
        ) from error
    finally:
        duck.close()
    revision = ",".join(sorted(str(row[0]) for row in rows))
    projects, messages = counted if counted else (0, 0)
    return f"revision {revision}, {projects:,} projects, {messages:,} messages"


def sqlite_file(source: Path, folder: Path, progress: Progress | None = None) -> Path:
    """The SQLite copy of ``source`` in ``folder``, reused or made now.

    Reused when it came from the same source file at the same schema revision; else made
    under a ``.partial`` name and renamed when complete.

    Raises:
        ConfigurationError: An existing copy came from another file or schema revision (it
            names the file to delete), or there is not enough free disk.
    """
    path = folder / f"{source.stem}.sqlite"
    origin = (source.name, source_revision(source))
    if path.exists():
        found = _origin(path)
        if found != origin:
            raise ConfigurationError(
                f"{path} is a SQLite copy of {found[0]} ({found[1]}), not of {origin[0]} "
                f"({origin[1]}): delete {path} and run again to copy the current data."
            )
        return path
    partial = _partial(path)
    partial.unlink(missing_ok=True)  # a run interrupted while copying: start again
    _free_space(folder, int(source.stat().st_size * _SQLITE_PER_DUCKDB))

    def advance(table: str, rows: int) -> None:
        if progress is not None:
            progress(f"copying {source.name} to SQLite ({table})", rows, 0)

    copy_to_sqlite(source, partial, progress=advance)
    lite = sqlite3.connect(partial)
    try:
        with lite:
            lite.execute(f"CREATE TABLE {_ORIGIN} (source TEXT NOT NULL, revision TEXT NOT NULL)")
            lite.execute(f"INSERT INTO {_ORIGIN} VALUES (?, ?)", origin)
    finally:
        lite.close()
    os.replace(partial, path)
    return path


def _origin(path: Path) -> tuple[str, str]:
    """``(source, revision)`` a SQLite copy came from (``("unknown", "unknown")``: no record)."""
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = lite.execute(f"SELECT source, revision FROM {_ORIGIN}").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        lite.close()
    return (str(row[0]), str(row[1])) if row else ("an unknown file", "no record")
