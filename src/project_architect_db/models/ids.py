"""Client-side, time-ordered primary keys (UUIDv7, RFC 9562).

Ids are made in Python rather than by the database because DuckDB has no ``SERIAL``/``IDENTITY``,
bulk loads build Arrow columns before anything reaches the database, and DuckLake (the scale-out
path) has no sequences shared between writers. Version 7 puts the Unix time in milliseconds in
the top 48 bits, so ids sort by creation time and neighbouring rows share zone maps.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["uuid7", "uuid7_batch", "uuid7_time_ms", "uuid_from_int"]

# 42-bit counter split around the variant bits (12 bits in "rand_a", 30 in "rand_b"), then 32
# random bits: RFC 9562 section 6.2 method 1, the layout CPython 3.14's uuid.uuid7() uses.
_COUNTER_MAX = (1 << 42) - 1
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)

_UNKNOWN_SAFETY = uuid.SafeUUID.unknown

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7, strictly greater than every one made before in this process.

    Within one millisecond a counter (seeded randomly with its top bit clear, so it has room to
    grow) is incremented; if the clock steps back, the last timestamp is reused, so order holds.

    Examples:
        >>> a, b = uuid7(), uuid7()
        >>> a < b and a.version == 7
        True
    """
    return uuid7_batch(1)[0]


def uuid7_batch(count: int) -> list[uuid.UUID]:
    """Return ``count`` new, ascending UUIDv7s; the bulk-insert path's cheaper ``uuid7()``.

    One lock, one clock read and one ``os.urandom`` call serve the whole batch.
    """
    global _last_ms, _counter
    entropy = os.urandom(10 * count)
    now_ms = time.time_ns() // 1_000_000
    ids: list[uuid.UUID] = []
    with _lock:
        for offset in range(0, 10 * count, 10):
            rand = int.from_bytes(entropy[offset : offset + 10], "big")
            if now_ms > _last_ms:
                _last_ms, _counter = now_ms, rand >> 39  # 41 random bits
            elif _counter < _COUNTER_MAX:
                _counter += 1
            else:  # 2**41+ ids in one millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, rand >> 39
            ids.append(
                uuid_from_int(
                    (_last_ms & 0xFFFF_FFFF_FFFF) << 80
                    | (_counter >> 30) << 64
                    | (_counter & 0x3FFF_FFFF) << 32
                    | (rand & 0xFFFF_FFFF)
                    | _VERSION_AND_VARIANT
                )
            )
    return ids


def reserve_uuid7(count: int) -> tuple[int, int]:
    """Reserve ``count`` consecutive UUIDv7 slots: ``(unix_ms, first_counter)``.

    The ids ``(unix_ms, first_counter + i)`` for ``i < count`` are unique and greater than every
    id made before in this process; the bulk path builds their bytes without Python objects.
    """
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms, start = now_ms, int.from_bytes(os.urandom(6), "big") >> 7  # 41 bits
        else:
            start = _counter + 1
        if start + count - 1 > _COUNTER_MAX:  # the block does not fit: take the next ms
            _last_ms, start = _last_ms + 1, 0
        _counter = start + count - 1
        return _last_ms, start


def uuid_from_int(value: int) -> uuid.UUID:
    """A ``uuid.UUID`` from a 128-bit integer known to be valid (no re-validation).

    ``uuid.UUID(int=...)`` re-validates its arguments (~1.5 us); this is what CPython 3.14's own
    ``uuid7()`` does through the private ``UUID._from_int``.
    """
    new = object.__new__(uuid.UUID)
    object.__setattr__(new, "int", value)
    object.__setattr__(new, "is_safe", _UNKNOWN_SAFETY)
    return new


def uuid7_time_ms(value: uuid.UUID) -> int:
    """Return the Unix time in milliseconds embedded in a UUIDv7."""
    return value.int >> 80
