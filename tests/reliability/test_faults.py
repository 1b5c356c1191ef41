"""Faults of the environment: each gives a typed library error and leaves committed data intact.

Covered elsewhere, not repeated here (see docs/reliability.md): a file locked by another
process (``DatabaseLockedError`` with its PID) and writes on a ``read_only=True`` database and a
text file at the path, in ``tests/integration/core/test_database.py``; a migration revision
that fails halfway, in ``tests/integration/migration/test_upgrade_downgrade.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from project_architect_db import (
    Database,
    DatabaseError,
    ReadOnlyError,
    StorageError,
)
from project_architect_db.core.engine import create_engine
from project_architect_db.core.settings import Settings
from project_architect_db.migration import MigrationManager
from tests.integration.migration.helpers import REVISION_0004, write_versions
from tests.reliability._figures import FigureBook

HERE = Path(__file__).parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


async def _baseline(path: Path, *, projects: int = 200, documents: int = 300) -> None:
    """A database with data worth keeping: projects, documents, a conversation."""
    async with Database.open(path, load_fts=False) as db:
        async with db.transaction() as tx:
            ids = await tx.projects.bulk_create([{"name": f"Keep {i}"} for i in range(projects)])
            await tx.documents.bulk_create(
                [
                    {"project_id": ids[i % 20], "path": f"d{i}.md", "content": f"kept {i}"}
                    for i in range(documents)
                ]
            )
            conv = await tx.conversations.create({"project_id": ids[0], "title": "kept"})
            for n in range(3):
                await tx.conversations.add_message(conv.id, {"role": "user", "content": f"m{n}"})


async def _assert_baseline(db: Database, *, projects: int = 200, documents: int = 300) -> None:
    assert await db.projects.count() == projects
    assert await db.documents.count() == documents
    keep = await db.projects.get_by_slug("keep-0")
    assert (await db.documents.get_by_path(keep.id, "d0.md")).content == "kept 0"
    conv = (await db.conversations.list(project_id=keep.id)).items[0]
    messages = await db.conversations.messages(conv.id)
    assert [(m.sequence, m.content) for m in messages.items] == [(1, "m0"), (2, "m1"), (3, "m2")]


# -- disk full ----------------------------------------------------------------------------------


def _can_mount_tmpfs(folder: Path) -> bool:
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs",
         str(folder)],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return probe.returncode == 0


@pytest.mark.subprocess
@pytest.mark.parametrize("limit", ["file-size-limit", "full-tmpfs"])
def test_a_full_disk_fails_the_commit_with_storage_error_and_keeps_committed_data(
    limit: str, tmp_path: Path
) -> None:
    folder = tmp_path / "disk"
    folder.mkdir()
    args = {"db": str(folder / "full.duckdb")}
    if limit == "file-size-limit":  # RLIMIT_FSIZE: writes past it fail with EFBIG
        command = [
            sys.executable,
            str(HERE / "_fill_disk.py"),
            json.dumps(args | {"mode": "rlimit"}),
        ]
    else:  # a real ENOSPC: a 16 MB tmpfs in a private mount namespace (needs root)
        if not _can_mount_tmpfs(folder):
            pytest.skip("mounting a tmpfs needs root and unshare(1)")
        inner = " ".join(
            [
                sys.executable,
                str(HERE / "_fill_disk.py"),
                "'" + json.dumps(args | {"mode": "tmpfs"}) + "'",
            ]
        )
        command = [
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            f"mount -t tmpfs -o size=16m tmpfs {folder} && exec {inner}",
        ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    errors = report["errors"]
    # every error is the library's, and the first is a clear StorageError at the failing commit
    assert all(error["library"] for error in errors), errors
    assert errors[0]["step"] == "bulk insert"
    assert errors[0]["class"] == "project_architect_db.exceptions.StorageError"
    assert "disk is full" in errors[0]["message"]
    assert {error["step"] for error in errors} <= {"bulk insert", "small write", "close"}
    # once space is back, everything that reported success is there, and nothing else
    after = report["after"]
    small = report["small_write"] == "committed"
    assert after["kept_content"] == "kept"
    assert after["projects"] == 100 + small
    assert after["small_write_present"] is small
    assert after["documents"] == 1 + 20 * report["committed_rounds"]


async def test_a_temp_directory_limit_fails_the_query_with_a_library_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spill.duckdb"
    await _baseline(path)
    async with Database.open(path, load_fts=False, memory_limit="64MB", threads=1) as db:
        async with db.transaction() as tx:
            await tx.execute(text(f"SET temp_directory = '{tmp_path / 'spill'}'"))
            await tx.execute(text("SET max_temp_directory_size = '4MB'"))
        with pytest.raises(DatabaseError, match="max_temp_directory_size") as info:
            async with db.transaction() as tx:
                await tx.execute(
                    text(
                        "SELECT count(*) FROM (SELECT md5(range::VARCHAR) || "
                        "md5((range + 1)::VARCHAR) AS h FROM range(6000000) ORDER BY h)"
                    )
                )
        assert "raise memory_limit" in str(info.value)
        await _assert_baseline(db)
        await db.projects.create({"name": "Still writable"})
    async with Database.open(path, load_fts=False) as db:
        await _assert_baseline(db, projects=201)


# -- a file that cannot be written --------------------------------------------------------------


@pytest.fixture
def unwritable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A database file this process cannot open for writing, and how that was done."""
    how: str = request.param
    folder = tmp_path / "locked-down"
    folder.mkdir()
    path = folder / "ro.duckdb"
    asyncio.run(_baseline(path))
    if how == "chmod":
        if IS_ROOT:
            pytest.skip("root ignores file permission bits")
        path.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield path, how
        finally:
            folder.chmod(0o755)
            path.chmod(0o644)
    elif how == "immutable":
        if not IS_ROOT or shutil.which("chattr") is None:
            pytest.skip("chattr +i needs root")
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("this file system has no immutable attribute")
        try:
            yield path, how
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("unwritable", ["chmod", "immutable"], indirect=True)
async def test_a_file_that_cannot_be_written_raises_read_only_error(
    unwritable: tuple[Path, str],
) -> None:
    path, _ = unwritable
    before = path.read_bytes()
    with pytest.raises(ReadOnlyError, match="read_only=True"):
        async with Database.open(path, load_fts=False):
            pass
    async with Database.open(path, load_fts=False, read_only=True) as db:
        await _assert_baseline(db)
    assert path.read_bytes() == before


_READ_ONLY_MOUNT = textwrap.dedent(
    """
    import json, sys
    import project_architect_db as padb
    from project_architect_db import Database, ProjectArchitectDBError

    async def main():
        report = {}
        try:
            async with Database.open(sys.argv[1], load_fts=False):
                report["writable"] = "opened"
        except ProjectArchitectDBError as error:
            report["writable"] = [type(error).__name__, str(error)]
        async with Database.open(sys.argv[1], load_fts=False, read_only=True) as db:
            report["projects"] = await db.projects.count()
            report["documents"] = await db.documents.count()
        print(json.dumps(report))

    padb.run(main())
    """
)


@pytest.mark.subprocess
async def test_a_file_on_a_read_only_file_system_raises_read_only_error(tmp_path: Path) -> None:
    folder = tmp_path / "mounted"
    folder.mkdir()
    path = folder / "ro.duckdb"
    await _baseline(path)
    probe = tmp_path / "probe"
    probe.mkdir()
    if not _can_mount_tmpfs(probe):
        pytest.skip("a read-only bind mount needs root and unshare(1)")
    script = tmp_path / "open_read_only.py"
    script.write_text(_READ_ONLY_MOUNT)
    before = path.read_bytes()
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
            f"exec {sys.executable} {script} {path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["writable"][0] == "ReadOnlyError"
    assert "Read-only file system" in report["writable"][1]
    assert "read_only=True" in report["writable"][1]
    assert (report["projects"], report["documents"]) == (200, 300)
    assert path.read_bytes() == before


# -- a damaged file -----------------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    rng = random.Random(how)
    regions = {
        "file header": (0, 4096),
        "first database header": (4096, 4096),
        "second database header": (8192, 4096),
        "first blocks": (12288, 300_000),
        "last block": (size - 65536, 65536),
        "middle": (size // 2, 65536),
    }
    if how in regions:
        offset, length = regions[how]
        with path.open("r+b") as handle:
            handle.seek(offset)
            handle.write(rng.randbytes(length))
    elif how == "truncated":
        os.truncate(path, size // 3)
    elif how == "random bytes":
        path.write_bytes(rng.randbytes(size))
    elif how == "sqlite file":
        path.unlink()
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT)")
            connection.execute("INSERT INTO projects (name) VALUES ('not duckdb')")
        connection.close()
    elif how == "garbage wal file":
        Path(f"{path}.wal").write_bytes(rng.randbytes(8192))
    else:
        raise AssertionError(how)


DAMAGE = [
    "file header",
    "first database header",
    "second database header",
    "first blocks",
    "middle",
    "last block",
    "truncated",
    "random bytes",
    "sqlite file",
    "garbage wal file",
]


@pytest.mark.parametrize("how", DAMAGE)
async def test_a_damaged_file_gives_storage_errors_never_wrong_data(
    how: str, tmp_path: Path, figures: FigureBook
) -> None:
    path = tmp_path / "damaged.duckdb"
    await _baseline(path)
    _damage(path, how)
    before = path.read_bytes()
    db = Database.open(path, load_fts=False)
    storage_errors: list[str] = []
    try:
        await db.connect()
    except StorageError as error:
        opened = False
        # DuckDB's refusal, or its checksum failure with the restore advice (issue 15)
        said = str(error)
        assert "DuckDB" in said or "Storage error" in said or "is corrupt (" in said, error
        assert path.read_bytes() == before  # a refused file is left exactly as it was
    else:
        opened = True
        try:
            # whatever can be read is right (DuckDB checksums every block) or a StorageError;
            # any other error class, or wrong data, fails the test
            for check in (
                lambda: _assert_baseline(db),
                lambda: db.projects.create({"name": "Written after the damage"}),
            ):
                try:
                    await check()
                except StorageError as error:
                    storage_errors.append(str(error))
        finally:
            try:
                await db.close()
            except StorageError as error:
                storage_errors.append(str(error))
    figures.add(
        "damaged files",
        cases=1,
        refused_at_open=not opened,
        opened=opened,
        storage_errors_after_open=len(storage_errors),
    )
    print(how, "opened" if opened else "refused", storage_errors)


# -- an interrupted migration -------------------------------------------------------------------

_SLOW_0004 = REVISION_0004.replace(
    "def upgrade() -> None:\n",
    "def upgrade() -> None:\n"
    "    import os, pathlib, time\n"
    "    if os.environ.get('PADB_MARK_AT') == 'start':\n"
    "        pathlib.Path(os.environ['PADB_MARKER']).write_text('x')\n"
    "        time.sleep(120)\n",
).replace(
    '        batch_op.create_index("ix_projects_archived_reason", ["archived_reason"], '
    "unique=False)\n",
    '        batch_op.create_index("ix_projects_archived_reason", ["archived_reason"], '
    "unique=False)\n"
    "    if os.environ.get('PADB_MARK_AT') == 'rebuilt':\n"
    "        pathlib.Path(os.environ['PADB_MARKER']).write_text('x')\n"
    "        time.sleep(120)\n",
)

_UPGRADE = textwrap.dedent(
    """
    import asyncio, sys
    from project_architect_db.core.engine import create_engine
    from project_architect_db.core.settings import Settings
    from project_architect_db.migration import MigrationManager

    async def main():
        engine = create_engine(Settings(database=sys.argv[1], load_fts=False))
        try:
            await MigrationManager(engine, version_locations=[sys.argv[2]]).upgrade()
        finally:
            await engine.dispose()

    asyncio.run(main())
    """
)


def _kill_upgrade_at(kill_at: str, script: Path, path: Path, versions: Path, marker: Path) -> None:
    """Run the upgrade in a process and SIGKILL it once it reaches ``kill_at``."""
    migrating = subprocess.Popen(
        [sys.executable, str(script), str(path), str(versions)],
        env=os.environ | {"PADB_MARK_AT": kill_at, "PADB_MARKER": str(marker)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert migrating.poll() is None, migrating.communicate()[1]
            assert time.monotonic() < deadline, "the migration never reached its kill point"
            time.sleep(0.01)
    finally:
        migrating.send_signal(signal.SIGKILL)
        _, stderr = migrating.communicate(timeout=60)
    assert migrating.returncode == -signal.SIGKILL, stderr


@pytest.mark.subprocess
@pytest.mark.parametrize("kill_at", ["start", "rebuilt"])
async def test_a_migration_killed_midway_leaves_the_previous_schema_and_data(
    kill_at: str, tmp_path: Path
) -> None:
    assert "batch_op.create_index" in _SLOW_0004 and _SLOW_0004.count("PADB_MARKER") == 2
    path = tmp_path / "migrating.duckdb"
    await _baseline(path)
    slow = write_versions(tmp_path / "slow", ("20261124_0004_archive_reason.py", _SLOW_0004))
    script = tmp_path / "upgrade.py"
    script.write_text(_UPGRADE)
    await asyncio.to_thread(_kill_upgrade_at, kill_at, script, path, slow, tmp_path / "marker")

    # the file opens at the previous revision, with every row, and no half-built table
    async with Database.open(path, load_fts=False) as db:
        await _assert_baseline(db)
        async with db.session() as session:
            tables = set(
                (await session.execute(text("SELECT table_name FROM duckdb_tables()"))).scalars()
            )
            columns = set(
                (
                    await session.execute(
                        text(
                            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'projects'"
                        )
                    )
                ).scalars()
            )
        manager = MigrationManager(db.engine, version_locations=[slow])
        assert await manager.current() == "0003"
    assert not any(name.startswith("_alembic_tmp") for name in tables), tables
    assert "archived_reason" not in columns
    # and the same upgrade, run again to the end, succeeds and keeps the data
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script), str(path), str(slow)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    engine = create_engine(Settings(database=str(path), load_fts=False, read_only=True))
    try:
        assert await MigrationManager(engine, version_locations=[slow]).current() == "0004"
        async with engine.connect() as connection:
            counts = (
                await connection.execute(
                    text("SELECT count(*), count(archived_reason) FROM projects")
                )
            ).one()
        assert tuple(counts) == (200, 0)
    finally:
        await engine.dispose()
