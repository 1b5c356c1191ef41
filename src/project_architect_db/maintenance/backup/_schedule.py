"""Scheduled backups of an open database (the ``backup_every`` setting).

A task on the event loop sleeps ``backup_every`` seconds, then awaits ``db.backup()``: the copy
runs in a worker thread on a connection of its own, so neither the loop nor the writers wait
for it. A failure is never silent: it is logged (logger ``project_architect_db.backup``, level
ERROR, with the library error), counted, kept as :attr:`BackupSchedule.last_error`, and
:meth:`BackupSchedule.check` raises it. The next run is attempted on time all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from project_architect_db.exceptions import DatabaseError, ProjectArchitectDBError
from project_architect_db.maintenance.backup._take import BackupReport

__all__ = ["BackupSchedule"]

_log = logging.getLogger("project_architect_db.backup")


class BackupSchedule:
    """Backs up every ``every`` seconds until stopped; reports each failure.

    Attributes:
        every: Seconds between two backups (the first runs ``every`` after the start).
        last_report: The last backup written, ``None`` before the first.
        last_error: The error of the last run when it failed, ``None`` after a success.
        failures: Runs that failed since the start.
    """

    def __init__(self, backup: Callable[[], Awaitable[BackupReport]], every: float) -> None:
        self.every = every
        self.last_report: BackupReport | None = None
        self.last_error: ProjectArchitectDBError | None = None
        self.failures = 0
        self._backup = backup
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the schedule on the running loop."""
        self._task = asyncio.create_task(self._run(), name="padb-scheduled-backup")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.last_report = await self._backup()
            except ProjectArchitectDBError as error:
                self._failed(error)
            except Exception as error:  # a bug: still reported through the error tree
                wrapped = DatabaseError(f"A scheduled backup failed unexpectedly: {error!r}.")
                wrapped.__cause__ = error
                self._failed(wrapped)
            else:
                self.last_error = None

    def _failed(self, error: ProjectArchitectDBError) -> None:
        self.failures += 1
        self.last_error = error
        _log.error("Scheduled backup failed (%d so far): %s", self.failures, error, exc_info=error)

    def check(self) -> None:
        """Raise the last run's error, if it failed.

        Raises:
            ProjectArchitectDBError: The last scheduled backup's failure (``StorageError`` for
                a missing folder or a full disk, for example).
        """
        if self.last_error is not None:
            raise self.last_error

    async def stop(self) -> None:
        """Stop the schedule; a backup in progress is interrupted and leaves no file."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
