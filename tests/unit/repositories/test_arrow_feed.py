"""``ArrowFeed``: chunks built on the loop, handed to a worker thread in order, replayable."""

from __future__ import annotations

import asyncio
import threading

import pyarrow as pa
import pytest

from project_architect_db.repositories._arrow_feed import ArrowFeed, chunks, sliced


def _table(start: int, stop: int) -> pa.Table:
    return pa.table({"n": list(range(start, stop))})


def _numbers(tables: list[pa.Table]) -> list[int]:
    return [value for table in tables for value in table.column("n").to_pylist()]


def test_chunks_cover_every_row_once_first_chunk_small() -> None:
    assert chunks(1, 2, 3) == [(0, 1)]
    assert chunks(2, 2, 3) == [(0, 2)]
    assert chunks(9, 2, 3) == [(0, 2), (2, 5), (5, 8), (8, 9)]
    assert chunks(10_000) == [(0, 10_000)]  # the default: one chunk up to FIRST_CHUNK rows
    assert chunks(10_000, 1024, 4096) == [(0, 1024), (1024, 5120), (5120, 9216), (9216, 10_000)]
    assert sliced({"a": [1, 2, 3], "b": "xyz"}, 1, 3) == {"a": [2, 3], "b": "yz"}


async def test_the_worker_gets_every_chunk_in_order_built_on_the_loop() -> None:
    built_on: list[threading.Thread] = []

    def build_rest(feed: ArrowFeed) -> None:
        built_on.append(threading.current_thread())
        for start in (2, 5):
            feed.add(_table(start, start + 3))

    feed = ArrowFeed(_table(0, 2), build_rest, asyncio.get_running_loop())
    first = await asyncio.to_thread(lambda: list(feed.tables()))
    again = await asyncio.to_thread(lambda: list(feed.tables()))  # a re-run replays it all
    assert _numbers(first) == _numbers(again) == list(range(8))
    assert built_on == [threading.main_thread()]  # once, on the loop
    assert feed.table().column("n").to_pylist() == list(range(8))
    assert feed.error is None


async def test_a_feed_of_one_chunk_builds_nothing_more() -> None:
    feed = ArrowFeed(_table(0, 3), None, asyncio.get_running_loop())
    assert _numbers(list(feed.tables())) == [0, 1, 2]  # no wait, even on the loop's thread


async def test_a_failed_build_ends_the_feed_with_its_error() -> None:
    def build_rest(feed: ArrowFeed) -> None:
        feed.add(_table(2, 4))
        raise ValueError("a value Arrow refuses")

    feed = ArrowFeed(_table(0, 2), build_rest, asyncio.get_running_loop())
    seen: list[pa.Table] = []

    def consume() -> None:
        for table in feed.tables():
            seen.append(table)

    with pytest.raises(RuntimeError, match="building the Arrow chunks failed") as raised:
        await asyncio.to_thread(consume)
    assert isinstance(raised.value.__cause__, ValueError)
    assert isinstance(feed.error, ValueError)
    assert _numbers(seen) == [0, 1, 2, 3]  # what was built before the failure came first


def test_a_worker_waiting_on_a_closed_loop_gives_up() -> None:
    loop = asyncio.new_event_loop()
    feed = ArrowFeed(_table(0, 1), lambda feed: None, loop)
    tables = feed.tables()
    assert _numbers([next(tables)]) == [0]  # the build is asked for, on a loop never run
    loop.close()
    with pytest.raises(RuntimeError, match="event loop building this insert has closed"):
        next(tables)
    with pytest.raises(RuntimeError, match="closed"):  # a feed started after the close
        next(ArrowFeed(_table(0, 1), lambda feed: None, loop).tables())
