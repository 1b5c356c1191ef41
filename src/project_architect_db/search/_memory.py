"""The index build's memory bound: DuckDB's ``memory_limit`` lowered while a build runs.

DuckDB has one buffer pool per database instance and no per-query limit. With its default
(80 % of RAM), the first build at 10M messages grew the process to 20.6 GB: the sort of the
postings and the batches' temporary tables take what the pool allows before they spill. So a
build lowers the instance's ``memory_limit`` to ``build_memory_limit`` (never raises it), and
puts back what it was when the last running build ends (with ``SET``: DuckDB 1.5.5's
``RESET`` leaves the buffer pool at the lowered limit). Not when the database has no
``temp_directory`` (nothing could spill: the limit would fail the build instead of bounding
it). Queries that run meanwhile share the lowered limit: sorts, joins and aggregates spill to
the temporary directory instead of growing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from project_architect_db.core.buffer_pool import LIMIT_LOCK, restore_limit, size_bytes

__all__ = ["BuildMemory", "size_bytes"]


class BuildMemory:
    """Lowers ``memory_limit`` while at least one build runs (thread-safe).

    Args:
        limit: The bound during a build (``None``: leave DuckDB's setting alone).
        configured: The ``memory_limit`` the database was opened with (``None``: DuckDB's
            default), put back after the last build.
    """

    def __init__(self, limit: str | None, configured: str | None) -> None:
        self.limit = limit
        if limit is not None:
            size_bytes(limit)  # fail at construction, not at the first search
        self._configured = configured
        self._lock = LIMIT_LOCK  # every change of the limit the library makes takes it
        self._running = 0
        self._lowered = False
        self._shown = ""  # the limit before the first running build lowered it

    @contextmanager
    def bounded(self, con: Any) -> Iterator[None]:
        """Run a build under the bound; the setting is restored even when it fails."""
        with self._lock:
            self._running += 1
            if self._running == 1 and self.limit is not None:
                current, spill = con.execute(
                    "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                ).fetchone()
                # Without a temporary directory nothing can spill: a lower limit would fail
                # the build instead of bounding it.
                if spill and size_bytes(self.limit) < size_bytes(current):
                    con.execute(f"SET memory_limit = '{size_bytes(self.limit)}B'")
                    self._lowered, self._shown = True, str(current)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and self._lowered:
                    self._lowered = False
                    self._restore(con)

    def _restore(self, con: Any) -> None:
        # On a connection of its own: the build's transaction may be aborted (an interrupt, a
        # failed statement), and an aborted transaction refuses even SET. The setting is the
        # instance's, whichever connection sets it. With SET, never RESET: DuckDB 1.5.5's
        # RESET leaves the buffer pool at the lowered limit (core/buffer_pool.restore_limit).
        with con.cursor() as other:
            restore_limit(other, self._shown, self._configured)
