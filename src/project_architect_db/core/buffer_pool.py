"""DuckDB's buffer pool and its ``memory_limit``: sizes, one lock, a long read's cache budget.

DuckDB keeps every table block a query reads in its buffer pool, for later queries, until the
instance's ``memory_limit`` (default 80 % of RAM) forces it to evict; it has no per-query or
per-connection cache bypass. A read of the whole table (``stream()``) would so grow the
process by the table's size (+390 MB over 1M projects). What does evict at once is lowering
``memory_limit``: DuckDB then frees unpinned blocks, persistent table blocks first (they need
no writing), the least recently used first, and gives the memory back. :class:`CacheBudget`
uses that between a stream's chunks: when the table blocks cached have grown by more than its
budget since the stream started, it lowers the limit by that growth for two statements and
puts it back, under :data:`LIMIT_LOCK` (every change of the limit the library makes takes it,
so no two of them interleave and none restores another's temporary value).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import duckdb

from project_architect_db.exceptions import ValidationError

__all__ = ["LIMIT_LOCK", "CacheBudget", "restore_limit", "size_bytes"]

LIMIT_LOCK = threading.Lock()
"""Held by whoever changes the instance's ``memory_limit`` (search builds, stream budgets)."""

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

_CACHED = (
    "SELECT coalesce(sum(memory_usage_bytes) FILTER (WHERE tag IN ('BASE_TABLE', "
    "'EXTERNAL_FILE_CACHE')), 0), coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
)
_LIMIT = "SELECT current_setting('memory_limit')"
_FLOOR = 8 * 1024**2
"""The lowest limit a trim sets (a stream alone in a fresh process has its blocks as almost all
of DuckDB's memory: the target would be about 0)."""


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


class CacheBudget:
    """Keeps what one long read adds to DuckDB's cache of table blocks under ``budget`` bytes.

    Call :meth:`check` on the read's connection before each part of the read: the first call
    notes the cache's size; each later one, if the cache has grown by more than ``budget``
    since, evicts that growth (see the module's docstring) so the cache is back to its size at
    the start. What is evicted is the least recently used table blocks, whoever read them: a
    concurrent query that needs one again reads it from the file (the OS's page cache, most
    often). Only a file or a lake's cache is trimmed: an in-memory database's tables live in
    the same pool, and evicting them would write them to temporary files.

    Args:
        budget: Bytes of growth allowed before a trim.
        configured: The ``memory_limit`` the database was opened with (``None``: DuckDB's
            default); restored exactly when the limit was still that one (see
            :func:`restore_limit`).
    """

    def __init__(self, budget: int, configured: str | None) -> None:
        self.budget = budget
        self._configured = configured
        self._start: int | None = None
        self.trims = 0

    def check(self, duck: Any) -> None:
        """Note the cache's size (first call), or trim what it grew by past the budget."""
        cached, total = duck.execute(_CACHED).fetchone()
        if self._start is None:
            self._start = int(cached)
            return
        grown = int(cached) - self._start
        if grown > self.budget:
            with LIMIT_LOCK:
                evicted = _evict_to(duck, int(total) - grown, self._configured)
            self.trims += evicted


def _evict_to(duck: Any, target: int, configured: str | None) -> bool:
    """Lower ``memory_limit`` to ``target`` bytes and put it back; whether it was lowered.

    Not when the limit is already at or under ``target`` (at least :data:`_FLOOR`). When
    DuckDB cannot free enough (the memory is pinned by running queries) it refuses the lower
    limit and keeps the old one: the cache stays as it is, nothing fails.
    """
    current = str(duck.execute(_LIMIT).fetchone()[0])
    target = max(target, _FLOOR)
    if size_bytes(current) <= target:
        return False
    try:
        duck.execute(f"SET memory_limit = '{target}B'")
    except duckdb.OutOfMemoryException:
        return False
    finally:
        restore_limit(duck, current, configured)
    return True


def restore_limit(duck: Any, shown: str, configured: str | None) -> None:
    """Put back the limit DuckDB showed as ``shown`` (exactly, when it is ``configured``).

    Always with ``SET``: DuckDB 1.5.5's ``RESET memory_limit`` puts the setting's default back
    in what ``current_setting`` shows but leaves the buffer pool at the lowered limit (queries
    then fail with "Out of Memory" at the old, low figure; ``scripts/duckdb_reset_memory_
    limit.py`` shows it). DuckDB shows a limit truncated to 0.1 of its unit, so a limit that
    is not the configured one (DuckDB's default: 80 % of RAM) comes back within 0.05 of its
    unit, and shown as before.
    """
    if configured is not None and _shown(duck, size_bytes(configured)) == shown:
        return
    duck.execute(_set(_within(shown)))


def _within(shown: str) -> int:
    """Bytes DuckDB shows as ``shown``: the middle of the 0.1-unit step it truncates to.

    DuckDB shows ``floor(bytes / unit, 1 decimal)``, so a limit set back to the shown figure
    itself would show 0.1 less, and lose 0.1 unit per trim.
    """
    match = _SIZE.match(shown)
    if match is None or "." not in match.group(1):
        return size_bytes(shown)
    return size_bytes(f"{float(match.group(1)) + 0.05}{match.group(2)}")


def _shown(duck: Any, size: int) -> str:
    """Set the limit to ``size`` bytes; how DuckDB shows it."""
    duck.execute(_set(size))
    return str(duck.execute(_LIMIT).fetchone()[0])


def _set(size: int) -> str:
    return f"SET memory_limit = '{size}B'"
