"""One compiled-statement cache: SQL compiled once per shape and dialect, bounded, shared.

Native paths (a point read, a page, an analytics query) run SQL text DuckDB executes directly,
so each needs its statement compiled by SQLAlchemy first; compiling costs far more than
DuckDB's answer to a point read. Before the executor there were four caches with four
policies (a dict per repository, one cleared when full, a module-wide LRU, a dict per
repository class). :class:`StatementCache` is the one kind: least-recently-used, bounded,
thread-safe, counting hits and misses, and keyed by *what* is compiled (a SQLAlchemy cache
key, or a statement object built once) *and* the dialect it is compiled for, so entries of
two dialects never mix. The executor owns one per database (``executor.statements``).

An entry may be ``None``: "this shape cannot run natively", remembered like any other
answer so the check is not repeated.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any, Final, TypeVar

from project_architect_db.exceptions import ConfigurationError

__all__ = ["DEFAULT_MAX_ENTRIES", "StatementCache"]

E = TypeVar("E")

#: Entries kept per cache: enough for every shape an application builds, bounded if it
#: builds shapes from user input (a filter per distinct column set, a sort per order).
DEFAULT_MAX_ENTRIES: Final = 1024


class StatementCache:
    """A bounded LRU of compiled statements, keyed by ``(kind, key, dialect)``.

    Args:
        max_entries: How many compiled statements to keep; the least recently used goes first.

    Raises:
        ConfigurationError: ``max_entries`` is not a positive integer.
    """

    __slots__ = ("_entries", "_hits", "_lock", "_misses", "max_entries")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(
                f"A statement cache needs room for at least one entry, not {max_entries!r}."
            )
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, Hashable, Any], Any] = OrderedDict()
        self._lock = Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compile(self, kind: str, key: Hashable, dialect: Any, compile: Callable[[], E]) -> E:
        """The entry for ``key`` compiled for ``dialect``; ``compile()`` it on a miss.

        ``compile`` runs outside the cache's lock (two threads missing the same key at once
        both compile; the second result replaces the first, which is equal). An exception
        from ``compile`` caches nothing.
        """
        full = (kind, key, dialect)
        with self._lock:
            found = self._entries.get(full, _MISSING)
            if found is not _MISSING:
                self._entries.move_to_end(full)
                self._hits += 1
                return found  # type: ignore[no-any-return]
            self._misses += 1
        entry = compile()
        with self._lock:
            self._entries[full] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def entries(self, kind: str) -> list[Any]:
        """The entries of one kind (``"select"``, ``"point"``, ...), least recent first."""
        with self._lock:
            return [entry for (k, _, _), entry in self._entries.items() if k == kind]

    def __contains__(self, item: tuple[str, Hashable, Any]) -> bool:
        with self._lock:
            return item in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def info(self) -> dict[str, int]:
        """``hits``, ``misses``, ``entries`` and ``max_entries`` (for tests and benchmarks)."""
        with self._lock:
            return {
                "hits": self._hits,
                "misses": self._misses,
                "entries": len(self._entries),
                "max_entries": self.max_entries,
            }

    def clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0

    def __repr__(self) -> str:
        info = self.info()
        return (
            f"<StatementCache {info['entries']}/{self.max_entries} entries, "
            f"{info['hits']} hits, {info['misses']} misses>"
        )


_MISSING: Final = object()
