"""Copies of a database (backups, exports): one at a time, yielding the CPU to the application.

**One at a time per database in a process.** Two at once fail: the catalog functions a copy
reads (``duckdb_tables()``) open a transaction in every attached database, including the other
copy's target, and that copy's ``CHECKPOINT`` then meets it ("Cannot CHECKPOINT: there are
other write transactions active"). A second copy waits for the first.

**Yielding the CPU.** A copy reads the whole database while the application's writers go on.
On a small machine its DuckDB threads take the cores the writers need, and their latency grows
2-3x (docs/performance.md). DuckDB's ``threads`` cannot be lowered for one connection, only for
the whole instance, so while a copy runs the instance is set to one thread (the writers' point
statements use one anyway; a concurrent analytics query runs on one too), and the copy's own
thread, which then does all of its work, gets the lowest CPU priority (Linux: ``setpriority``
on the thread, which ends with the copy). The setting is restored when the copy ends.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["copying"]

_LOCKS_LOCK = threading.Lock()
_LOCKS: dict[str, threading.Lock] = {}


def _lock_of(database: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(database, threading.Lock())


def _lowest_priority_for_this_thread() -> None:
    if not sys.platform.startswith("linux"):  # pragma: no cover - a thread id is a pid there
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


@contextlib.contextmanager
def copying(connection: Any, database: str, *, low_priority: bool) -> Iterator[None]:
    """Hold ``database``'s copy lock; with ``low_priority``, one DuckDB thread at priority 19.

    Call it from a thread that ends with the copy (its priority is not raised again: an
    unprivileged process may not).
    """
    with _lock_of(database):
        if not low_priority:
            yield
            return
        _lowest_priority_for_this_thread()
        restorer = connection.cursor()  # usable even if the copy's connection is interrupted
        try:
            before = int(restorer.execute("SELECT current_setting('threads')").fetchone()[0])
            restorer.execute("SET threads = 1")
            try:
                yield
            finally:
                restorer.execute(f"SET threads = {before}")
        finally:
            restorer.close()
