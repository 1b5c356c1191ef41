"""Copies of a database (backups, exports): their connection, one at a time, yielding the CPU.

**Their connection** is a cursor of a reader connection held for the whole copy: a pooled
connection given back may be closed by the pool, and closing a DuckDB connection closes its
cursors ("Connection already closed!" under writers, before this).

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

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from project_architect_db.core._worker import to_thread
from project_architect_db.core.executor import Executor

__all__ = ["copying", "held_cursor", "in_thread"]

T = TypeVar("T")

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


@contextlib.asynccontextmanager
async def held_cursor(executor: Executor[Any]) -> AsyncIterator[Any]:
    """A DuckDB cursor on the open database; its parent stays checked out until the copy ends."""
    async with executor.readers.holding() as held:
        yield await held.connection.run(lambda duck: duck.cursor())


async def in_thread(fn: Callable[[], T], interrupt: Callable[[], None]) -> T:
    """Run ``fn`` in a worker thread; a cancellation interrupts it and waits for its clean-up."""
    task = asyncio.ensure_future(to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        interrupt()
        with contextlib.suppress(BaseException):
            await task  # the thread removes its temporary files before it ends
        raise
