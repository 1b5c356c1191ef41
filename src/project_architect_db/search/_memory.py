"""The index build's memory bound: DuckDB's ``memory_limit`` lowered while a build runs.

DuckDB has one buffer pool per database instance and no per-query limit. With its default
(80 % of RAM), the first build at 10M messages grew the process to 20.6 GB: the sort of the
postings and the batches' temporary tables take what the pool allows before they spill. So a
build lowers the instance's ``memory_limit`` to ``build_memory_limit`` (never raises it), and
puts back what the database was opened with when the last running build ends (``RESET`` when
it was opened without one). Not when the database has no ``temp_directory`` (nothing could
spill: the limit would fail the build instead of bounding it). Queries that run meanwhile
share the lowered limit: sorts, joins and aggregates spill to the temporary directory instead
of growing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from project_architect_db.exceptions import ValidationError

__all__ = ["BuildMemory", "size_bytes"]

_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,  # "16383.9 PiB": no limit
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def size_bytes(text: str) -> int:
    """``"2GB"`` / ``"1.8 GiB"`` / ``"512MB"`` in bytes (DuckDB's spellings of a size).

    Raises:
        ValidationError: ``text`` is not a size.
    """
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValidationError(
            f"{text!r} is not a memory size: write a number and a unit, such as '2GB' or '512MB'."
        )
    return int(float(match.group(1)) * _UNITS[unit])


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
        self._lock = threading.Lock()
        self._running = 0
        self._lowered = False

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
                    self._lowered = True
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
        # instance's, whichever connection sets it.
        restore = (
            "RESET memory_limit"
            if self._configured is None
            else f"SET memory_limit = '{size_bytes(self._configured)}B'"
        )
        with con.cursor() as other:
            other.execute(restore)
