"""The change hub on its own (pure Python): wake-ups across threads, and races with close."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from project_architect_db.exceptions import CatalogUnavailableError, TransactionError
from project_architect_db.repositories.changes import Change, ChangeHub, ChangeKind, Gap


def _change() -> Change:
    row = uuid.uuid4()
    return Change("projects", row, ChangeKind.CREATED, 1, row)


async def test_a_close_from_a_thread_without_an_event_loop_wakes_the_reader() -> None:
    hub = ChangeHub()
    subscription = hub.subscribe()
    reader = asyncio.create_task(anext(subscription, None))
    await asyncio.sleep(0)  # the reader waits
    closer = threading.Thread(target=subscription.close)
    closer.start()
    assert await asyncio.wait_for(reader, 20) is None  # the iteration ended
    closer.join()
    assert hub.subscribers == 0


async def test_a_publish_from_another_thread_reaches_a_reader_on_this_loop() -> None:
    hub = ChangeHub()
    subscription = hub.subscribe(aggregates="projects")
    reader = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    change = _change()
    publisher = threading.Thread(target=hub.publish, args=([change],))
    publisher.start()
    received = await asyncio.wait_for(reader, 20)
    publisher.join()
    assert isinstance(received, Change)
    assert received.id == change.id
    assert received.sequence == 1


async def test_a_reader_cancelled_while_its_wake_up_is_on_the_way_loses_nothing() -> None:
    hub = ChangeHub()
    subscription = hub.subscribe()
    reader = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    publisher = threading.Thread(target=hub.publish, args=([_change()],))
    publisher.start()
    publisher.join()  # the wake-up is queued on this loop, not run yet
    reader.cancel()  # ... and the reader goes away first
    await asyncio.gather(reader, return_exceptions=True)
    assert reader.cancelled()
    item = await asyncio.wait_for(anext(subscription), 20)  # the change is still there
    assert isinstance(item, Change)
    assert item.sequence == 1


async def test_a_change_offered_after_close_is_dropped() -> None:
    # A publisher on another thread may hold a subscription it listed just before the close.
    hub = ChangeHub()
    subscription = hub.subscribe()
    hub.publish([_change()])
    hub.close()
    hub.close()  # twice is harmless
    late = hub.publish([_change()])[0]
    subscription._offer(late)
    items = [item async for item in subscription]
    assert len(items) == 1
    assert items[0].sequence == 1


async def test_a_gap_reaches_every_subscription_after_what_it_read() -> None:
    hub = ChangeHub()
    one, two = hub.subscribe(), hub.subscribe(aggregates="documents")
    hub.publish([_change()])
    first = await anext(one)
    assert isinstance(first, Change)
    hub.gap(7)
    gap = await anext(one)
    assert isinstance(gap, Gap)
    assert (gap.missed, gap.after_sequence) == (7, first.sequence)
    assert (await anext(two)) == Gap(7, 0)  # filters do not hide a gap
    one.close()
    hub.gap(1)  # a closed subscription gets nothing more
    with pytest.raises(StopAsyncIteration):
        await anext(one)


async def test_a_failed_hub_ends_subscriptions_with_the_error_after_their_queue() -> None:
    hub = ChangeHub()
    subscription = hub.subscribe()
    hub.publish([_change()])
    hub.fail(CatalogUnavailableError("catalog gone"))
    assert subscription.closed and hub.subscribers == 0
    assert isinstance(await anext(subscription), Change)  # what was queued comes first
    for _ in range(2):  # then the error, each time it is read
        with pytest.raises(CatalogUnavailableError, match="catalog gone"):
            await anext(subscription)
    hub.fail(CatalogUnavailableError("again"))  # nothing left to end: no error
    subscription._fail(CatalogUnavailableError("late"))  # a closed one keeps its error
    with pytest.raises(CatalogUnavailableError, match="catalog gone"):
        await anext(subscription)


async def test_a_lake_hub_refuses_changes_outside_a_transaction() -> None:
    from project_architect_db.repositories._lake_changes import LakeChangeHub

    hub = LakeChangeHub("dbname=x host=/nowhere user=u", lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(TransactionError, match="must run in a transaction"):
        hub.emit(object(), list)  # type: ignore[arg-type]
    await hub.aclose()  # never listened: nothing to stop
