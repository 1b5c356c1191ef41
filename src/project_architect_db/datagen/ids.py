"""Deterministic UUIDv7s: the time comes from synthetic timestamps, the rest from a seeded RNG.

:func:`project_architect_db.models.uuid7` reads the clock and ``os.urandom``, so generated data
would change on every run. These ids have the same layout (RFC 9562 version 7: Unix
milliseconds in the top 48 bits, version and variant bits set), so they are valid, sort by the
instant they were made for, and keep neighbouring rows in the same row groups, but depend only
on the seed and the instants.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["SeededUUID7", "uuid7_array", "uuid7_from", "uuid7_halves", "uuid_array"]

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B_MASK = (1 << 62) - 1
_MAX_MS = (1 << 48) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def _unix_ms(instant: datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: pass an aware (UTC) instant")
    return (instant - _EPOCH) // _ONE_MS


def uuid7_from(unix_ms: int, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 for ``unix_ms`` whose 74 random bits come from ``rng``.

    Examples:
        >>> import random
        >>> a = uuid7_from(1_750_000_000_000, random.Random(1))
        >>> a == uuid7_from(1_750_000_000_000, random.Random(1)), a.version
        (True, 7)
    """
    if not 0 <= unix_ms <= _MAX_MS:
        raise ValueError(f"unix_ms must fit in 48 bits, got {unix_ms}")
    rand = rng.getrandbits(74)
    return uuid.UUID(
        int=unix_ms << 80 | _VERSION | (rand >> 62) << 64 | _VARIANT | (rand & _RAND_B_MASK)
    )


class SeededUUID7:
    """A seeded source of UUIDv7s, for data that must be the same on every run.

    Examples:
        >>> from datetime import UTC, datetime
        >>> ids = SeededUUID7(42)
        >>> first = ids.at(datetime(2025, 1, 1, tzinfo=UTC))
        >>> first == SeededUUID7(42).at(datetime(2025, 1, 1, tzinfo=UTC))
        True
    """

    def __init__(self, seed: int | random.Random) -> None:
        self.random = seed if isinstance(seed, random.Random) else random.Random(seed)

    def seed(self, seed: int) -> None:
        """Restart the sequence as if newly made with ``seed``."""
        self.random.seed(seed)

    def at(self, instant: datetime) -> uuid.UUID:
        """A new id whose timestamp is ``instant`` (aware; naive raises ``ValueError``)."""
        return uuid7_from(_unix_ms(instant), self.random)

    def at_ms(self, unix_ms: int) -> uuid.UUID:
        """A new id whose timestamp is ``unix_ms`` milliseconds after the epoch."""
        return uuid7_from(unix_ms, self.random)


def uuid7_halves(unix_ms: npt.NDArray[Any], rng: np.random.Generator) -> npt.NDArray[Any]:
    """UUIDv7s for every element of ``unix_ms`` as a ``(n, 2)`` array of big-endian ``uint64``.

    The low 32 bits are a bijection of the element's position (``position * odd + offset``
    modulo 2**32, with ``odd`` and ``offset`` drawn from ``rng``), so the ids of one call are
    unique by construction (up to 2**32 - 1 of them); the other 42 non-time bits are random.
    ``halves.tobytes()`` is the ids' 16-byte values back to back.
    """
    count = len(unix_ms)
    if count >= 1 << 32:
        raise ValueError(f"at most 2**32 - 1 ids per call, got {count}")
    ms = np.asarray(unix_ms).astype(np.uint64)
    rand = rng.integers(0, 1 << 42, size=count, dtype=np.uint64)
    odd, offset = (int(x) for x in rng.integers(0, 1 << 32, size=2, dtype=np.uint64))
    position = (np.arange(count, dtype=np.uint64) * np.uint64(odd | 1) + np.uint64(offset)) & (
        np.uint64(0xFFFF_FFFF)
    )
    halves = np.empty((count, 2), dtype=">u8")
    halves[:, 0] = (ms << np.uint64(16)) | np.uint64(0x7000) | (rand >> np.uint64(30))
    halves[:, 1] = (
        np.uint64(0x8000_0000_0000_0000)
        | ((rand & np.uint64(0x3FFF_FFFF)) << np.uint64(32))
        | position
    )
    return halves


def uuid_array(halves: npt.NDArray[Any]) -> pa.ExtensionArray:
    """An Arrow ``uuid`` column from ``(n, 2)`` big-endian ``uint64`` halves."""
    data = np.ascontiguousarray(halves, dtype=">u8")
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(data), [None, pa.py_buffer(data.tobytes())]
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def uuid7_array(unix_ms: npt.NDArray[Any], rng: np.random.Generator) -> pa.ExtensionArray:
    """UUIDv7s for every element of ``unix_ms``, as an Arrow ``uuid`` column (no Python objects).

    See :func:`uuid7_halves`: unique within one call, time-ordered by ``unix_ms``.
    """
    return uuid_array(uuid7_halves(unix_ms, rng))
