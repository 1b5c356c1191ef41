"""The change feed: committed changes only, in commit order, and slow consumers never block."""

from __future__ import annotations

import asyncio
import time

import pytest

from project_architect_db import AlreadyExistsError, ConfigurationError, Database
from project_architect_db.repositories import Change, ChangeKind, Gap
from project_architect_db.schemas import ProjectCreate


async def _drain(subscription: object, count: int, timeout: float = 10) -> list[Change | Gap]:
    items: list[Change | Gap] = []

    async def collect() -> None:
        async for item in subscription:  # type: ignore[attr-defined]
            items.append(item)
            if len(items) == count:
                return

    await asyncio.wait_for(collect(), timeout)
    return items


async def test_a_thousand_committed_writes_arrive_in_commit_order(file_db: Database) -> None:
    subscription = file_db.changes(aggregates="projects")
    committed: list[object] = []
    per_writer: dict[int, list[object]] = {w: [] for w in range(10)}

    async def writer(worker: int) -> None:
        for i in range(100):
            project = await file_db.projects.create({"name": f"W{worker} {i}"})
            committed.append(project.id)
            per_writer[worker].append(project.id)

    await asyncio.gather(*(writer(w) for w in range(10)))
    items = await _drain(subscription, 1000)
    assert all(isinstance(item, Change) for item in items)
    changes = [item for item in items if isinstance(item, Change)]
    sequences = [change.sequence for change in changes]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 1000
    assert {change.id for change in changes} == set(committed)
    assert all(change.kind is ChangeKind.CREATED for change in changes)
    # Each writer commits one after another: its changes must arrive in that order.
    position = {change.id: index for index, change in enumerate(changes)}
    for ids in per_writer.values():
        assert [position[i] for i in ids] == sorted(position[i] for i in ids)


async def test_rolled_back_writes_never_arrive(db: Database) -> None:
    subscription = db.changes()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.projects.create({"name": "Ghost"})
            raise RuntimeError("roll back")
    with pytest.raises(AlreadyExistsError):
        async with db.transaction() as tx:
            await tx.projects.create({"name": "Twin"})
            await tx.projects.create({"name": "Twin"})
    kept = await db.projects.create({"name": "Real"})
    (item,) = await _drain(subscription, 1)
    assert isinstance(item, Change)
    assert item.id == kept.id


async def test_updates_and_deletes_carry_versions_and_projects(db: Database) -> None:
    subscription = db.changes()
    project = await db.projects.create({"name": "Tracked"})
    conversation = await db.conversations.create({"project_id": project.id, "title": "t"})
    await db.projects.update(project.id, {"description": "x"})
    await db.projects.delete(project.id)
    items = await _drain(subscription, 4)
    assert [(c.aggregate, c.kind, c.version) for c in items] == [  # type: ignore[union-attr]
        ("projects", ChangeKind.CREATED, 1),
        ("conversations", ChangeKind.CREATED, None),
        ("projects", ChangeKind.UPDATED, 2),
        ("projects", ChangeKind.DELETED, 2),
    ]
    assert {c.project_id for c in items} == {project.id}  # type: ignore[union-attr]
    assert items[1].id == conversation.id  # type: ignore[union-attr]


async def test_subscriptions_filter_by_aggregate_and_project(db: Database) -> None:
    first = await db.projects.create({"name": "First"})
    second = await db.projects.create({"name": "Second"})
    only_first = db.changes(project_id=first.id)
    only_conversations = db.changes(aggregates=["conversations"])
    await db.conversations.create({"project_id": second.id, "title": "b"})
    await db.conversations.create({"project_id": first.id, "title": "a"})
    (mine,) = await _drain(only_first, 1)
    assert mine.project_id == first.id  # type: ignore[union-attr]
    both = await _drain(only_conversations, 2)
    assert {c.project_id for c in both} == {first.id, second.id}  # type: ignore[union-attr]


async def test_a_consumer_that_stops_reading_gets_a_gap_and_writers_keep_their_speed(
    file_db: Database,
) -> None:
    records = [[ProjectCreate(name=f"B{batch} {i}") for i in range(200)] for batch in range(6)]
    started = time.perf_counter()
    await file_db.projects.bulk_create(records[0])
    await file_db.projects.bulk_create(records[1])
    without_subscriber = time.perf_counter() - started

    stalled = file_db.changes(max_queue=100)
    started = time.perf_counter()
    await file_db.projects.bulk_create(records[2])
    await file_db.projects.bulk_create(records[3])
    with_stalled_subscriber = time.perf_counter() - started
    # Publishing never waits for the reader: the writes took about as long as before.
    assert with_stalled_subscriber < 5 * without_subscriber + 0.5

    stalled.close()  # iteration now ends once the backlog is read
    items = [item async for item in stalled]
    gap = items[0]
    assert isinstance(gap, Gap)
    assert len(items) <= 101  # the queue stayed bounded
    changes = [item for item in items if isinstance(item, Change)]
    assert len(items) == len(changes) + 1
    assert gap.missed + len(changes) == 400  # every change is either delivered or counted
    assert [c.sequence for c in changes] == sorted(c.sequence for c in changes)


async def test_closing_a_subscription_ends_iteration_and_unsubscribes(db: Database) -> None:
    async with db.changes() as subscription:
        assert db.change_hub.subscribers == 1

        async def close_soon() -> None:
            await asyncio.sleep(0.05)
            subscription.close()

        closer = asyncio.create_task(close_soon())
        assert [item async for item in subscription] == []
        await closer
    assert db.change_hub.subscribers == 0


async def test_invalid_subscription_options_raise(db: Database) -> None:
    with pytest.raises(ConfigurationError, match="max_queue"):
        db.changes(max_queue=0)


async def test_bulk_created_children_reach_subscribers_with_their_project(db: Database) -> None:
    project = await db.projects.create({"name": "Bulk feed", "slug": "bulk-feed"})
    async with db.changes(aggregates="documents") as subscription:
        ids = await db.documents.bulk_create(
            [{"project_id": project.id, "path": f"docs/{i}.md"} for i in range(3)]
        )
        items = [await asyncio.wait_for(subscription.__anext__(), 5) for _ in ids]
    assert [item.id for item in items] == ids
    assert {item.project_id for item in items} == {project.id}
    assert await db.documents.count() == 3
