"""Scheduled backups (``backup_every``): in the background, rotated, failures reported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from project_architect_db import ConfigurationError, Database, StorageError
from project_architect_db.maintenance.backup import backups_in
from tests.integration.backup.helpers import count


async def _until(condition: Callable[[], object], seconds: float = 30.0) -> None:
    """Poll ``condition`` (state a background task changes) for up to ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached in {seconds} s")


async def test_scheduled_backups_run_while_writers_go_on_and_keep_rotates(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    async with Database.open(
        tmp_path / "app.duckdb",
        load_fts=False,
        backup_every=0.1,
        backup_dir=folder,
        backup_keep=2,
    ) as db:
        schedule = db.backup_schedule
        assert schedule is not None
        written = 0
        while schedule.last_report is None or len({*map(str, backups_in(folder))}) < 2:
            await db.projects.create({"name": f"P {written}"})  # never waits for a backup
            written += 1
            await asyncio.sleep(0.01)
        await _until(lambda: schedule.last_report is not None and schedule.last_report.removed)
        schedule.check()  # no failure to raise
        assert schedule.failures == 0
    assert db.backup_schedule is None
    found = backups_in(folder)
    assert len(found) == 2
    assert 0 < count(found[-1], "projects") <= written


async def test_a_failing_scheduled_backup_is_logged_kept_and_raised_by_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="project_architect_db.backup")
    missing = tmp_path / "missing"
    async with Database.open(
        tmp_path / "app.duckdb", load_fts=False, backup_every=0.05, backup_dir=missing
    ) as db:
        schedule = db.backup_schedule
        assert schedule is not None
        await _until(lambda: schedule.failures >= 2)  # it keeps trying on time
        assert isinstance(schedule.last_error, StorageError)
        with pytest.raises(StorageError, match="does not exist"):
            schedule.check()
        await db.projects.create({"name": "Still writable"})
    assert "Scheduled backup failed" in caplog.text
    assert not missing.exists()


async def test_an_unexpected_failure_is_wrapped_in_the_error_tree(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from project_architect_db import DatabaseError
    from project_architect_db.maintenance.backup import BackupSchedule

    async def broken() -> object:
        raise RuntimeError("a bug")

    schedule = BackupSchedule(broken, 0.01)  # type: ignore[arg-type]
    schedule.start()
    await _until(lambda: schedule.failures >= 1)
    await schedule.stop()
    await schedule.stop()  # stopping twice does nothing
    with pytest.raises(DatabaseError, match="unexpectedly"):
        schedule.check()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"backup_every": 0}, "backup_every"),
        ({"backup_every": -1}, "backup_every"),
        ({"backup_every": float("inf")}, "backup_every"),
        ({"backup_keep": 0}, "backup_keep"),
    ],
)
def test_invalid_schedule_settings_are_configuration_errors(
    tmp_path: Path, options: dict[str, float], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Database.open(tmp_path / "a.duckdb", **options)


def test_a_schedule_needs_a_writable_database_and_a_folder_for_memory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="writable database"):
        Database.open(tmp_path / "a.duckdb", read_only=True, backup_every=60)
    with pytest.raises(ConfigurationError, match="backup_dir"):
        Database.open(":memory:", backup_every=60)
    assert Database.open(":memory:", backup_every=60, backup_dir=tmp_path).settings.backup_dir
