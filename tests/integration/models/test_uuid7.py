"""The client-side UUIDv7 primary keys."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from project_architect_db.models import ids, uuid7, uuid7_batch, uuid7_time_ms


def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    value = uuid7()

    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_embeds_the_current_unix_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000

    assert before <= uuid7_time_ms(value) <= after


def test_uuid7_is_strictly_increasing_within_a_process() -> None:
    values = [uuid7() for _ in range(50_000)]

    assert all(a < b for a, b in itertools.pairwise(values))


def test_uuid7_batch_continues_the_same_sequence() -> None:
    values = [uuid7(), *uuid7_batch(1_000), uuid7()]

    assert len(set(values)) == len(values)
    assert values == sorted(values)


def test_uuid7_equals_a_uuid_parsed_from_its_text() -> None:
    value = uuid7()

    assert uuid.UUID(str(value)) == value
    assert hash(uuid.UUID(str(value))) == hash(value)


def test_uuid7_stays_ordered_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first = uuid7()
    monkeypatch.setattr(
        "project_architect_db.models.ids.time.time_ns",
        lambda: (uuid7_time_ms(first) - 5_000) * 1_000_000,
    )

    later = uuid7()

    assert later > first
    assert uuid7_time_ms(later) == uuid7_time_ms(first)


def test_uuid7_moves_to_the_next_millisecond_when_the_counter_is_exhausted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = uuid7()
    frozen_ns = uuid7_time_ms(first) * 1_000_000
    monkeypatch.setattr("project_architect_db.models.ids.time.time_ns", lambda: frozen_ns)
    # Patch the generator state too, so monkeypatch restores it whole afterwards.
    monkeypatch.setattr(ids, "_last_ms", uuid7_time_ms(first))
    monkeypatch.setattr(ids, "_counter", ids._COUNTER_MAX)

    later = uuid7()

    assert later > first
    assert uuid7_time_ms(later) == uuid7_time_ms(first) + 1


def test_uuid7_is_unique_and_ordered_across_threads() -> None:
    results: list[list[uuid.UUID]] = []
    lock = threading.Lock()

    def make() -> None:
        batch = [uuid7() for _ in range(5_000)]
        with lock:
            results.append(batch)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(8):
            pool.submit(make)

    everything = [value for batch in results for value in batch]
    assert len(set(everything)) == 40_000
    assert all(batch == sorted(batch) for batch in results)
