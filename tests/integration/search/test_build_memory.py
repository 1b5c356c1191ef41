"""The index build runs under ``build_memory_limit`` and puts the database's own limit back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import StatementTimeoutError, ValidationError
from project_architect_db.models import Base
from project_architect_db.search import SearchService, _index
from project_architect_db.search._memory import size_bytes


async def _open(path: Path, extension_directory: Path, **options: Any) -> Database:
    db = await Database.open(path, extension_directory=extension_directory, **options)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture
async def file_db(tmp_path: Path, extension_directory: Path) -> AsyncIterator[Database]:
    db = await _open(tmp_path / "m.duckdb", extension_directory)
    try:
        yield db
    finally:
        await db.close()


async def _limit(db: Database) -> str:
    async with db.transaction() as tx:
        return str(
            await tx.run_native(
                lambda con: con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            )
        )


async def _seed(db: Database, n: int = 6) -> None:
    project = (await db.projects.create({"name": "Atlas"})).id
    for i in range(n):
        await db.documents.create(
            {"project_id": project, "path": f"d{i}.md", "content": f"websocket note {i}"}
        )


def _spy(
    monkeypatch: pytest.MonkeyPatch,
    fail: bool = False,
    slow: threading.Event | None = None,
) -> list[str]:
    """Record ``memory_limit`` while each build runs.

    ``fail``: raise after the build's statements (before its commit). ``slow``: then set it
    and run one real statement of many seconds (a timeout or a cancellation interrupts it).
    """
    seen: list[str] = []
    real = _index.build_index

    def build(con: Any, spec: Any, batch: int) -> None:
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        real(con, spec, batch)
        if slow is not None:
            slow.set()
            con.execute("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")
        if fail:
            raise RuntimeError("the build was cut before its commit")

    monkeypatch.setattr(_index, "build_index", build)
    return seen


async def test_the_build_runs_under_the_bound_and_restores_the_default(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _limit(file_db)
    await _seed(file_db)
    seen = _spy(monkeypatch)
    await file_db.search.rebuild()
    assert seen == ["1.8 GiB", "1.8 GiB"]  # 2GB, as DuckDB shows it
    assert await _limit(file_db) == before
    assert len(await file_db.search.documents("websocket")) == 6


@pytest.mark.parametrize(
    ("configured", "during", "after"),
    [
        ("3GB", "1.8 GiB", "2.7 GiB"),  # lowered to 2GB, then the configured 3GB again
        ("1GB", "953.6 MiB", "953.6 MiB"),  # a lower configured limit is never raised
    ],
)
async def test_the_configured_limit_is_restored_never_raised(
    tmp_path: Path,
    extension_directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    configured: str,
    during: str,
    after: str,
) -> None:
    db = await _open(tmp_path / "c.duckdb", extension_directory, memory_limit=configured)
    try:
        await _seed(db)
        seen = _spy(monkeypatch)
        await db.search.rebuild("documents")
        assert seen == [during]
        assert await _limit(db) == after
    finally:
        await db.close()


async def test_no_bound_leaves_the_setting_alone(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _limit(file_db)
    search = SearchService(file_db._executor, build_memory_limit=None)
    await _seed(file_db)
    seen = _spy(monkeypatch)
    await search.rebuild("documents")
    assert seen == [before]
    assert len(await search.documents("websocket")) == 6


async def test_a_failed_build_restores_the_limit_and_keeps_the_old_index(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _limit(file_db)
    await _seed(file_db)
    await file_db.search.rebuild("documents")
    _spy(monkeypatch, fail=True)
    with pytest.raises(RuntimeError, match="cut before its commit"):
        await file_db.search.rebuild("documents")
    assert await _limit(file_db) == before
    assert len(await file_db.search.documents("websocket")) == 6  # the old index, whole


async def test_a_build_stopped_by_a_statement_timeout_leaves_a_usable_state(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _limit(file_db)
    await _seed(file_db)
    seen = _spy(monkeypatch, slow=threading.Event())
    with pytest.raises(StatementTimeoutError):
        async with file_db.statement_timeout(0.5):
            await file_db.search.rebuild("documents")
    assert seen == ["1.8 GiB"]
    assert await _limit(file_db) == before
    monkeypatch.undo()
    # Never built: searchable from the live rows, and the next search builds the index.
    assert len(await file_db.search.documents("websocket")) == 6
    assert "documents" in file_db.search._keeper.indexed


async def test_a_cancelled_build_leaves_a_usable_state(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _limit(file_db)
    await _seed(file_db)
    await file_db.search.rebuild("documents")
    project = (await file_db.projects.create({"name": "Later"})).id
    await file_db.documents.create({"project_id": project, "path": "n.md", "content": "websocket"})
    running = threading.Event()
    _spy(monkeypatch, slow=running)
    build = asyncio.ensure_future(file_db.search.rebuild("documents"))
    assert await asyncio.to_thread(running.wait, 60)  # the build is in its long statement
    await asyncio.sleep(0.1)
    build.cancel()
    with pytest.raises(asyncio.CancelledError):
        await build
    assert await _limit(file_db) == before
    monkeypatch.undo()
    assert len(await file_db.search.documents("websocket", limit=200)) == 7  # old index + delta


def test_sizes_are_read_in_duckdbs_units() -> None:
    assert size_bytes("2GB") == 2 * 1000**3
    assert size_bytes("1.8 GiB") == int(1.8 * 1024**3)
    assert size_bytes("512 MB") == 512 * 1000**2
    assert size_bytes("16383.9 PiB") > size_bytes("1TB")
    assert size_bytes("100") == 100


@pytest.mark.parametrize("bad", ["lots", "2 parsecs", "", "-1GB", "GB"])
async def test_a_bad_build_limit_is_rejected_when_made(file_db: Database, bad: str) -> None:
    with pytest.raises(ValidationError, match="such as '2GB'"):
        SearchService(file_db._executor, build_memory_limit=bad)


async def test_without_a_temporary_directory_the_limit_is_not_lowered(
    file_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing could spill: a lower limit would make the build fail instead of bounding it.
    before = await _limit(file_db)
    async with file_db.transaction() as tx:
        await tx.run_native(lambda con: con.execute("SET temp_directory = ''"))
    await _seed(file_db)
    seen = _spy(monkeypatch)
    await file_db.search.rebuild("documents")
    assert seen == [before]
    assert len(await file_db.search.documents("websocket")) == 6
