"""Seeded UUIDv7s: valid, time-ordered, unique, and a function of the seed and instant."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from project_architect_db.datagen.ids import SeededUUID7, uuid7_array, uuid7_from, uuid7_halves
from project_architect_db.models import uuid7_time_ms

AT = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_seeded_ids_repeat_with_the_seed_and_carry_the_instant() -> None:
    first = [SeededUUID7(3).at(AT + timedelta(seconds=i)) for i in range(3)]
    assert first == [SeededUUID7(3).at(AT + timedelta(seconds=i)) for i in range(3)]
    ids = SeededUUID7(3)
    made = [ids.at(AT + timedelta(milliseconds=i)) for i in range(1000)]
    assert len(set(made)) == 1000
    assert made == sorted(made)
    for i, value in enumerate(made):
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert uuid7_time_ms(value) == int(AT.timestamp() * 1000) + i
    assert SeededUUID7(4).at(AT) != SeededUUID7(3).at(AT)


def test_a_random_instance_can_be_shared() -> None:
    shared = random.Random(1)
    ids = SeededUUID7(shared)
    assert ids.random is shared
    assert ids.at_ms(5) == uuid7_from(5, random.Random(1))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        SeededUUID7(1).at(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="48 bits"):
        uuid7_from(1 << 48, random.Random(1))
    with pytest.raises(ValueError, match="48 bits"):
        uuid7_from(-1, random.Random(1))


def test_the_vectorised_ids_are_valid_unique_and_ordered() -> None:
    ms = np.sort(np.random.default_rng(1).integers(1_700_000_000_000, 1_700_000_001_000, 20_000))
    array = uuid7_array(ms, np.random.default_rng(9))
    assert array.type == pa.uuid()
    values = [uuid.UUID(bytes=b) for b in array.storage.to_pylist()]
    assert len(set(values)) == len(values)  # unique even within one millisecond
    assert all(v.version == 7 and v.variant == uuid.RFC_4122 for v in values)
    assert [uuid7_time_ms(v) for v in values] == ms.tolist()
    assert values == sorted(values, key=lambda v: v.int >> 80)
    again = uuid7_array(ms, np.random.default_rng(9))
    assert again.equals(array)
    assert not uuid7_array(ms, np.random.default_rng(10)).equals(array)


def test_vectorised_ids_of_nothing() -> None:
    assert len(uuid7_array(np.array([], dtype=np.int64), np.random.default_rng(1))) == 0
    assert uuid7_halves(np.array([], dtype=np.int64), np.random.default_rng(1)).shape == (0, 2)
