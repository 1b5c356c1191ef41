"""Lock keys: strings hashed to PostgreSQL's 64-bit advisory lock space, in one global order.

A key is any non-empty string (``projects:<id>``, ``slug:<slug>``). Its lock is the first 8 bytes
of its BLAKE2b digest as a signed 64-bit integer, so every process, on every machine, maps a key
to the same lock without a shared table. Two keys that collide share one lock: that only
serialises two units that could have run side by side, it never lets two conflicting ones pass.
Every unit takes its locks in ascending lock order, so two units never wait on each other in a
cycle (no deadlock between units, whatever keys they ask for).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from project_architect_db.exceptions import ConfigurationError

__all__ = ["LockPlan", "lock_id", "plan_locks"]


def lock_id(key: str) -> int:
    """The advisory lock of ``key``: a signed 64-bit integer, the same in every process."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class LockPlan:
    """The locks of one unit, in the order they are taken: ``(lock id, exclusive)`` pairs."""

    locks: tuple[tuple[int, bool], ...]
    keys: tuple[str, ...]

    def sql(self, lock_timeout_ms: int) -> str:
        """One round trip: open a transaction, bound the wait, take every lock in order.

        The ids are integers computed here, never user text, so they are written inline: a
        simple-protocol batch of several statements runs them in order, in one round trip.
        """
        statements = ["BEGIN", f"SET LOCAL lock_timeout = '{lock_timeout_ms}ms'"]
        for ident, exclusive in self.locks:
            function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            statements.append(f"SELECT {function}({ident})")
        return ";".join(statements)


def plan_locks(exclusive: Iterable[str], shared: Iterable[str]) -> LockPlan:
    """Merge, deduplicate and order the keys of one unit (exclusive wins over shared).

    Raises:
        ConfigurationError: A key is not a non-empty string.
    """
    wanted: dict[int, bool] = {}
    keys: list[str] = []
    for is_exclusive, group in ((True, exclusive), (False, shared)):
        if isinstance(group, str):
            raise ConfigurationError(
                f"Lock keys are a list of strings, not the string {group!r}: write [{group!r}]."
            )
        for key in group:
            if not isinstance(key, str) or not key:
                raise ConfigurationError(f"A lock key is a non-empty string, not {key!r}.")
            ident = lock_id(key)
            wanted[ident] = wanted.get(ident, False) or is_exclusive
            keys.append(key)
    return LockPlan(locks=tuple(sorted(wanted.items())), keys=tuple(keys))
