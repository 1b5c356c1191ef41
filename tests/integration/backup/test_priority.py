"""Copies yield the CPU: one DuckDB thread while they run, the lowest priority for their thread."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database
from project_architect_db.maintenance._priority import copying
from tests.integration.backup.helpers import fill


def _threads(connection: Any) -> int:
    return int(connection.execute("SELECT current_setting('threads')").fetchone()[0])


def test_one_thread_at_the_lowest_priority_while_a_copy_runs_and_as_before_after(
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    def copy() -> None:  # a thread of its own: its priority is not raised again
        with duckdb.connect(str(tmp_path / "a.duckdb"), config={"threads": 2}) as duck:
            with copying(duck, "a", low_priority=True):
                seen["inside"] = _threads(duck)
                if sys.platform.startswith("linux"):
                    seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            seen["after"] = _threads(duck)

    worker = threading.Thread(target=copy)
    worker.start()
    worker.join()
    assert (seen["inside"], seen["after"]) == (1, 2)
    assert seen.get("nice", 19) == 19


def test_the_setting_comes_back_when_the_copy_fails(tmp_path: Path) -> None:
    def copy() -> None:
        with duckdb.connect(str(tmp_path / "a.duckdb"), config={"threads": 2}) as duck:
            with pytest.raises(duckdb.CatalogException), copying(duck, "a", low_priority=True):
                duck.execute("SELECT * FROM no_such_table")
            assert _threads(duck) == 2
            with copying(duck, "a", low_priority=False):  # not asked: nothing changes
                assert _threads(duck) == 2

    worker = threading.Thread(target=copy)
    worker.start()
    worker.join()


async def test_backups_and_exports_at_once_leave_the_threads_as_they_were(
    tmp_path: Path, extension_directory: Path
) -> None:
    async with Database.open(
        tmp_path / "src.duckdb", extension_directory=extension_directory, threads=2, load_fts=False
    ) as db:
        await fill(db, 10)
        folder = tmp_path / "backups"
        folder.mkdir()
        await asyncio.gather(
            db.backup(folder / "one.duckdb"),
            db.backup(folder / "two.duckdb"),
            db.export_parquet(tmp_path / "export"),
            db.backup(folder / "fast.duckdb", low_priority=False),
        )
        async with db.transaction() as tx:
            threads = await tx.run_native(_threads)
        assert threads == 2
