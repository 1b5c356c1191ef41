"""The change feed ends cleanly: closing the database ends every ``async for`` over it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from project_architect_db import (
    Change,
    Database,
    DatabaseNotOpenError,
    Gap,
    ProjectArchitectDBError,
    Subscription,
)

from .conftest import open_with_schema

#: Generous: "promptly" means woken by close, not by a timeout; a loaded CI box is slow.
_WITHIN = 20.0


async def _consume(subscription: Subscription) -> list[Change | Gap]:
    return [item async for item in subscription]


async def _until(condition: object, within: float = _WITHIN) -> None:
    """Wait (without a tight deadline) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def _opened(tmp_path: Path, extension_directory: Path) -> Database:
    return await open_with_schema(tmp_path / "feed.duckdb", extension_directory)


# -- close ends the iteration ------------------------------------------------------------------
async def test_closing_the_database_ends_a_waiting_subscriber_normally(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    subscription = db.changes()
    reader = asyncio.create_task(_consume(subscription))
    await asyncio.sleep(0)  # the reader is now waiting for a change
    assert not reader.done()
    await db.close()
    assert await asyncio.wait_for(reader, _WITHIN) == []
    assert subscription.closed
    assert db.change_hub.subscribers == 0


async def test_leaving_async_with_ends_the_feed_after_the_queued_changes(
    tmp_path: Path, extension_directory: Path
) -> None:
    async with Database.open(tmp_path / "a.duckdb", extension_directory=extension_directory) as db:
        subscription = db.changes(aggregates="projects")
        created = [(await db.projects.create({"name": f"P{i}"})).id for i in range(3)]
    # nothing was read before the close: the three changes are delivered, then it ends
    items = await asyncio.wait_for(_consume(subscription), _WITHIN)
    assert [item.id for item in items if isinstance(item, Change)] == created
    assert len(items) == 3
    # an ended feed stays ended
    with pytest.raises(StopAsyncIteration):
        await subscription.__anext__()


async def test_close_wakes_every_one_of_many_waiting_subscribers(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    project = await db.projects.create({"name": "Many"})
    subscriptions = [db.changes(project_id=project.id) for _ in range(50)]
    # two readers on one subscription: both must be woken
    readers = [asyncio.create_task(_consume(s)) for s in subscriptions]
    readers.append(asyncio.create_task(_consume(subscriptions[0])))
    await asyncio.sleep(0)
    await db.projects.update(project.id, {"description": "one change before the close"})
    await db.close()
    results = await asyncio.wait_for(asyncio.gather(*readers), _WITHIN)
    # each subscription delivered its one change exactly once (to one of its readers)
    delivered = [len(items) for items in results[:-1]]
    delivered[0] += len(results[-1])
    assert delivered == [1] * 50


async def test_close_wakes_a_subscriber_iterating_on_another_thread_and_event_loop(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    subscription = db.changes(aggregates="projects")
    received: list[Change | Gap] = []

    def consume_on_its_own_loop() -> str:
        async def consume() -> None:
            async for item in subscription:
                received.append(item)

        asyncio.run(consume())
        return threading.current_thread().name

    other = asyncio.ensure_future(asyncio.to_thread(consume_on_its_own_loop))
    # a change published on this loop wakes the reader on the other one
    project = await db.projects.create({"name": "Across threads"})
    await _until(lambda: len(received) == 1)
    await db.close()
    thread_name = await asyncio.wait_for(other, _WITHIN)
    assert thread_name != threading.current_thread().name
    assert [item.id for item in received if isinstance(item, Change)] == [project.id]


async def test_close_ignores_a_subscriber_whose_event_loop_is_already_closed(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    subscription = db.changes()

    def wait_then_abandon_the_loop() -> None:
        loop = asyncio.new_event_loop()
        waiting = loop.create_task(subscription.__anext__())  # type: ignore[arg-type]
        loop.run_until_complete(asyncio.sleep(0.01))
        assert not waiting.done()
        loop.close()  # the reader's loop is gone while it still waits

    await asyncio.to_thread(wait_then_abandon_the_loop)
    # publishing to it and closing it neither raise nor hang
    await db.projects.create({"name": "Nobody reads this"})
    await asyncio.wait_for(db.close(), _WITHIN)
    assert subscription.closed
    items = await _consume(subscription)
    assert len(items) == 1


# -- the races around close --------------------------------------------------------------------
async def test_close_while_writers_commit_delivers_whole_transactions_then_ends(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    subscription = db.changes(aggregates="projects")
    committed: list[tuple[object, object]] = []
    refused: list[ProjectArchitectDBError] = []

    async def writer(worker: int) -> None:
        for i in range(1000):
            try:
                async with db.transaction() as tx:
                    first = await tx.projects.create({"name": f"W{worker}-{i} a"})
                    second = await tx.projects.create({"name": f"W{worker}-{i} b"})
            except ProjectArchitectDBError as error:  # the database closed under the writer
                refused.append(error)
                return
            committed.append((first.id, second.id))

    writers = [asyncio.create_task(writer(w)) for w in range(4)]
    await _until(lambda: len(committed) >= 10)
    before_close = list(committed)
    await db.close()
    items = await asyncio.wait_for(_consume(subscription), _WITHIN)
    await asyncio.wait_for(asyncio.gather(*writers), _WITHIN)

    assert len(refused) == 4  # every writer was stopped by the close, with a library error
    changes = [item for item in items if isinstance(item, Change)]
    assert len(changes) == len(items)  # no gap: nothing was dropped
    sequences = [change.sequence for change in changes]
    assert sequences == sorted(sequences)
    seen = {change.id for change in changes}
    # each transaction arrives whole or not at all, and everything committed before the close
    # began was delivered (only commits racing the close may be missing)
    assert all((a in seen) == (b in seen) for a, b in committed)
    assert len(seen) % 2 == 0
    assert all(a in seen and b in seen for a, b in before_close)


async def test_cancelling_a_waiting_reader_keeps_the_subscription_for_the_next_one(
    db: Database,
) -> None:
    subscription = db.changes(aggregates="projects")
    reader = asyncio.create_task(subscription.__anext__())  # type: ignore[arg-type]
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert not subscription.closed
    project = await db.projects.create({"name": "After the cancel"})
    item = await asyncio.wait_for(subscription.__anext__(), _WITHIN)
    assert isinstance(item, Change)
    assert item.id == project.id
    subscription.close()
    subscription.close()  # twice is harmless
    assert await _consume(subscription) == []


async def test_a_subscriber_that_broke_out_early_is_ended_by_close(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    subscription = db.changes(aggregates="projects")
    ids = [(await db.projects.create({"name": f"B{i}"})).id for i in range(3)]
    async for item in subscription:
        assert isinstance(item, Change)
        assert item.id == ids[0]
        break
    assert db.change_hub.subscribers == 1  # breaking out does not unsubscribe
    await db.close()
    assert db.change_hub.subscribers == 0
    rest = await asyncio.wait_for(_consume(subscription), _WITHIN)
    assert [item.id for item in rest if isinstance(item, Change)] == ids[1:]


# -- subscribing to a database that is not open ------------------------------------------------
async def test_changes_on_a_closed_database_raises_database_not_open_error(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    await db.close()
    with pytest.raises(DatabaseNotOpenError, match=r"closed.*open it again") as raised:
        db.changes()
    assert isinstance(raised.value, ProjectArchitectDBError)
    assert "subscribe after opening it" in str(raised.value)
    # the other entry points raise the same error
    with pytest.raises(DatabaseNotOpenError):
        db.engine  # noqa: B018


async def test_changes_before_the_database_is_opened_raises_database_not_open_error(
    tmp_path: Path,
) -> None:
    db = Database.open(tmp_path / "never.duckdb")
    with pytest.raises(DatabaseNotOpenError, match="not open"):
        db.changes(aggregates="projects")
    assert db.change_hub.subscribers == 0


async def test_a_reopened_database_has_a_working_feed_again(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _opened(tmp_path, extension_directory)
    before = db.changes()
    await db.close()
    await db.connect()
    try:
        after = db.changes(aggregates="projects")
        project = await db.projects.create({"name": "Second life"})
        item = await asyncio.wait_for(after.__anext__(), _WITHIN)
        assert isinstance(item, Change)
        assert item.id == project.id
        assert await _consume(before) == []  # the first feed ended with the first close
    finally:
        await db.close()
    assert after.closed
