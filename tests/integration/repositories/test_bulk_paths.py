"""The two paths of ``bulk_create`` / ``bulk_upsert``.

Outside a transaction a batch is one native unit (``core/native_write.py``), committed alone:
parents read in the unit's transaction, then the INSERTs and the COMMIT in one hop. Inside
``db.transaction()`` it joins the caller's transaction (the session path) and commits with it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    AlreadyExistsError,
    IntegrityError,
    TransactionAbortedError,
)
from project_architect_db.repositories import _arrow_feed
from project_architect_db.repositories._bulk import BulkOperations
from project_architect_db.schemas import ConversationCreate, DocumentCreate


async def test_outside_a_transaction_a_batch_is_one_native_unit(db: Database) -> None:
    committer = db._context.writes.committer
    units = committer.units
    ids = await db.projects.bulk_create([{"name": f"N{i}", "slug": f"n-{i}"} for i in range(300)])
    assert committer.units == units  # alone: never in a group of small units
    assert await db.projects.count() == 300
    project = await db.projects.get(ids[299])
    assert project.slug == "n-299"
    conversations = await db.conversations.bulk_create(
        [ConversationCreate(project_id=project.id, title=f"C{i}") for i in range(3)]
    )
    stored = [await db.conversations.get(key) for key in conversations]
    assert [c.title for c in stored] == ["C0", "C1", "C2"]
    assert {c.project_id for c in stored} == {project.id}
    assert db.locks.held == 0


async def test_a_batch_naming_a_missing_parent_among_real_ones_writes_nothing(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Real", "slug": "real"})
    ghost = uuid.uuid4()
    with pytest.raises(IntegrityError, match=str(ghost)):
        await db.conversations.bulk_create(
            [
                ConversationCreate(project_id=project.id, title="Fine"),
                ConversationCreate(project_id=ghost, title="Orphan"),
            ]
        )
    assert await db.conversations.count() == 0
    assert db.locks.held == 0
    assert len(await db.conversations.bulk_create([{"project_id": project.id}])) == 1


async def test_a_duplicate_in_a_batch_with_parents_is_already_exists_and_writes_nothing(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Docs", "slug": "docs"})
    records = [
        DocumentCreate(project_id=project.id, path="a.md", title="A", content="a"),
        DocumentCreate(project_id=project.id, path="a.md", title="A again", content="b"),
    ]
    async with db.changes(aggregates="documents") as subscription:
        with pytest.raises(AlreadyExistsError):
            await db.documents.bulk_create(records)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.__anext__(), 0.2)
    assert await db.documents.count() == 0
    assert db.locks.held == 0


def _stalled_after_insert(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event]:
    """Make every bulk insert wait, once it inserted, until the test lets it go on."""
    inserted, go_on = threading.Event(), threading.Event()
    original = BulkOperations._arrow_insert

    def stalled(self: Any, *args: Any, **kwargs: Any) -> Callable[[Any], None]:
        work = original(self, *args, **kwargs)

        def run(duck: Any) -> None:
            work(duck)
            inserted.set()
            go_on.wait(30)

        return run

    monkeypatch.setattr(BulkOperations, "_arrow_insert", stalled)
    return inserted, go_on


async def _wait_for(event: threading.Event) -> None:
    deadline = time.monotonic() + 30
    while not event.is_set():
        assert time.monotonic() < deadline, "the insert never ran"
        await asyncio.sleep(0.005)


async def test_a_native_batch_cancelled_after_its_insert_writes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    inserted, go_on = _stalled_after_insert(monkeypatch)
    task = asyncio.ensure_future(
        db.projects.bulk_create([{"name": f"C{i}", "slug": f"c-{i}"} for i in range(2000)])
    )
    await _wait_for(inserted)
    task.cancel()
    for _ in range(5):  # the task takes its cancellation (its unit is stopped) ...
        await asyncio.sleep(0)
    go_on.set()  # ... before the unit's COMMIT is decided
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    assert await db.projects.count() == 0
    assert db.locks.held == 0
    assert len(await db.projects.bulk_create([{"name": "After", "slug": "after"}])) == 1


async def test_inside_a_transaction_a_batch_joins_it_and_rolls_back_with_it(
    db: Database,
) -> None:
    units = db._context.writes.committer.units
    async with db.changes(aggregates="projects") as subscription:
        with pytest.raises(RuntimeError, match="changed my mind"):
            async with db.transaction() as tx:
                ids = await db.projects.bulk_create(
                    [{"name": f"T{i}", "slug": f"t-{i}"} for i in range(50)]
                )
                assert await tx.projects.count() == 50  # its own writes, before the COMMIT
                assert (await tx.projects.get(ids[49])).slug == "t-49"
                raise RuntimeError("changed my mind")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.__anext__(), 0.2)
    assert db._context.writes.committer.units == units  # no native unit of its own
    assert await db.projects.count() == 0


async def test_inside_a_transaction_a_duplicate_is_already_exists_and_aborts_it(
    db: Database,
) -> None:
    with pytest.raises(TransactionAbortedError, match="duplicate"):
        async with db.transaction() as tx:
            await tx.projects.bulk_create([{"name": "One", "slug": "one"}])
            with pytest.raises(AlreadyExistsError):
                await tx.projects.bulk_create(
                    [{"name": "Two", "slug": "two"}, {"name": "One again", "slug": "one"}]
                )
    assert await db.projects.count() == 0  # DuckDB aborted the whole transaction
    assert db.locks.held == 0


async def test_inside_a_transaction_a_batch_commits_with_it_and_is_published(
    db: Database,
) -> None:
    async with db.changes(aggregates="projects") as subscription:
        async with db.transaction() as tx:
            ids = await tx.projects.bulk_create(
                [{"name": f"J{i}", "slug": f"j-{i}"} for i in range(3)]
            )
        items = [await asyncio.wait_for(subscription.__anext__(), 5) for _ in ids]
    assert [item.id for item in items] == ids
    assert await db.projects.count() == 3


async def test_bulk_upsert_outside_a_transaction_checks_parents_natively(db: Database) -> None:
    project = await db.projects.create({"name": "Up", "slug": "up"})
    first = DocumentCreate(project_id=project.id, path="a.md", title="A", content="one")
    assert await db.documents.bulk_upsert([first], on=["project_id", "path"]) == 1
    again = DocumentCreate(project_id=project.id, path="a.md", title="A2", content="two")
    assert await db.documents.bulk_upsert([again], on=["project_id", "path"]) == 1
    stored = (await db.documents.list()).items
    assert [(d.title, d.version) for d in stored] == [("A2", 2)]
    orphan = DocumentCreate(project_id=uuid.uuid4(), path="b.md", title="B", content="x")
    with pytest.raises(IntegrityError):
        await db.documents.bulk_upsert([orphan], on=["project_id", "path"])
    assert await db.documents.count() == 1
    assert db.locks.held == 0


async def test_bulk_upsert_inside_a_transaction_rolls_back_with_it(db: Database) -> None:
    await db.projects.create({"name": "Kept", "slug": "kept"})
    with pytest.raises(RuntimeError, match="undo"):
        async with db.transaction():
            await db.projects.bulk_upsert(
                [{"name": "Changed", "slug": "kept"}, {"name": "New", "slug": "new"}], on=["slug"]
            )
            raise RuntimeError("undo")
    assert [p.name for p in (await db.projects.list()).items] == ["Kept"]


# -- a batch of several chunks (``_arrow_feed.py``): built while DuckDB inserts ---------------
MANY = 6500  # three chunks: 1024, 4096, 1380 (with the chunk sizes set below)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 1024 then 4096 rows, so that a few thousand rows take several."""
    monkeypatch.setattr(_arrow_feed, "FIRST_CHUNK", 1024)
    monkeypatch.setattr(_arrow_feed, "CHUNK", 4096)


async def test_a_batch_of_several_chunks_is_one_batch_in_order_with_one_stamp(
    db: Database,
) -> None:
    async with db.changes(aggregates="projects") as subscription:
        ids = await db.projects.bulk_create(
            [{"name": f"M{i}", "slug": f"m-{i}"} for i in range(MANY)]
        )
        first = await asyncio.wait_for(subscription.__anext__(), 5)
        last = first
        for _ in range(MANY - 1):
            last = await asyncio.wait_for(subscription.__anext__(), 5)
    assert len(ids) == len(set(ids)) == MANY and ids == sorted(ids)
    assert (first.id, last.id) == (ids[0], ids[-1])
    table = await db.projects.to_arrow(order_by="id")
    assert table.column("id").to_pylist() == [str(key) for key in ids]
    assert table.column("slug").to_pylist()[1023:1026] == ["m-1023", "m-1024", "m-1025"]
    assert len(set(table.column("created_at").to_pylist())) == 1  # one stamp for the batch


async def test_a_duplicate_in_the_last_chunk_writes_none_of_the_chunks(db: Database) -> None:
    records = [{"name": f"D{i}", "slug": f"d-{i}"} for i in range(MANY)]
    records[-1] = {"name": "Again", "slug": "d-0"}
    with pytest.raises(AlreadyExistsError):
        await db.projects.bulk_create(records)
    assert await db.projects.count() == 0
    assert db.locks.held == 0


async def test_a_chunk_that_fails_to_build_fails_the_call_with_its_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = BulkOperations._arrow_rows
    calls: list[int] = []

    def failing_second_chunk(self: Any, records: Any, *args: Any) -> Any:
        calls.append(len(records))
        if len(calls) == 2:  # built on the loop while DuckDB inserts the first chunk
            raise OverflowError("a value Arrow cannot hold")
        return original(self, records, *args)

    monkeypatch.setattr(BulkOperations, "_arrow_rows", failing_second_chunk)
    with pytest.raises(OverflowError, match="Arrow cannot hold"):
        await db.projects.bulk_create([{"name": f"F{i}", "slug": f"f-{i}"} for i in range(MANY)])
    monkeypatch.undo()
    assert calls == [1024, 4096]
    assert await db.projects.count() == 0
    assert db.locks.held == 0
    assert len(await db.projects.bulk_create([{"name": "After", "slug": "after"}])) == 1
