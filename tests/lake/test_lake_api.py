"""The library's API on a lake: the same calls as on a file, on a real PostgreSQL catalog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    AlreadyExistsError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    UnsupportedOnLakeError,
)

from .conftest import Lake


async def test_crud_of_the_four_aggregates(lake_database: Database, tmp_path: Path) -> None:
    db = lake_database
    project = await db.projects.create({"name": "Lake app", "slug": "lake-app"})
    assert (await db.projects.get(project.id)).version == 1
    updated = await db.projects.update(project.id, {"name": "Renamed"}, expected_version=1)
    assert (updated.name, updated.version) == ("Renamed", 2)

    conversation = await db.conversations.create({"project_id": project.id, "title": "Chat"})
    first = await db.conversations.add_message(
        conversation.id, {"role": "user", "content": "hello lake"}
    )
    second = await db.conversations.add_message(
        conversation.id, {"role": "assistant", "content": "hello"}
    )
    assert (first.sequence, second.sequence) == (1, 2)
    assert (await db.conversations.get(conversation.id)).message_count == 2

    document = await db.documents.create(
        {"project_id": project.id, "path": "docs/a.md", "content": "one"}
    )
    revised = await db.documents.update(document.id, {"content": "two"})
    assert revised.version == 2
    assert [v.version for v in await db.documents.history(document.id)] == [1]
    summary = await db.documents.export_dir(project.id, tmp_path / "export")
    assert (tmp_path / "export" / "docs" / "a.md").read_text() == "two"
    assert summary is not None

    repository = await db.code_repositories.create(
        {"project_id": project.id, "url": "https://github.com/o/lake"}
    )
    build = await db.code_repositories.record_build(
        repository.id, {"commit_sha": "a" * 40, "branch": "main"}
    )
    assert [b.id for b in (await db.code_repositories.builds(repository.id)).items] == [build.id]

    await db.projects.delete(project.id)  # the cascade takes every child with it
    with pytest.raises(NotFoundError):
        await db.conversations.get(conversation.id)
    assert await db.documents.count() == 0
    assert await db.code_repositories.count() == 0


async def test_unhappy_writes_keep_their_errors(lake_database: Database) -> None:
    db = lake_database
    project = await db.projects.create({"name": "A", "slug": "taken"})
    with pytest.raises(AlreadyExistsError, match="unique key"):
        await db.projects.create({"name": "B", "slug": "taken"})
    other = await db.projects.create({"name": "C", "slug": "free"})
    with pytest.raises(AlreadyExistsError):
        await db.projects.update(other.id, {"slug": "taken"})
    with pytest.raises(ConflictError):
        await db.projects.update(project.id, {"name": "late"}, expected_version=7)
    with pytest.raises(IntegrityError):
        await db.conversations.create({"project_id": other.id.__class__(int=1), "title": "x"})
    await db.documents.create({"project_id": project.id, "path": "a.md"})
    moved = await db.documents.create({"project_id": project.id, "path": "b.md"})
    with pytest.raises(AlreadyExistsError):
        await db.documents.create({"project_id": project.id, "path": "a.md"})
    with pytest.raises(AlreadyExistsError):
        await db.documents.update(moved.id, {"path": "a.md"})
    assert await db.projects.count() == 2


async def test_a_failed_unit_of_work_writes_nothing(lake_database: Database) -> None:
    db = lake_database
    with pytest.raises(RuntimeError, match="stop"):
        async with db.transaction() as tx:
            project = await tx.projects.create({"name": "Gone", "slug": "gone"})
            await tx.conversations.create({"project_id": project.id})
            raise RuntimeError("stop")
    assert await db.projects.count() == 0
    assert await db.conversations.count() == 0
    async with db.transaction() as tx:
        kept = await tx.projects.create({"name": "Kept", "slug": "kept"})
        assert (await tx.projects.get(kept.id)).slug == "kept"  # sees its own write
    assert (await db.projects.get(kept.id)).slug == "kept"


async def test_pages_streams_and_arrow(lake_database: Database) -> None:
    db = lake_database
    ids = await db.projects.bulk_create(
        [{"name": f"P{i:02}", "slug": f"p-{i:02}"} for i in range(25)]
    )
    assert len(ids) == 25
    first = await db.projects.list(limit=10, order_by="name")
    assert [p.name for p in first.items] == [f"P{i:02}" for i in range(10)]
    assert first.next_cursor is not None
    second = await db.projects.list(limit=10, order_by="name", cursor=first.next_cursor)
    assert [p.name for p in second.items] == [f"P{i:02}" for i in range(10, 20)]
    streamed = [p.slug async for batch in db.projects.stream(batch_size=7) for p in batch]
    assert sorted(streamed) == [f"p-{i:02}" for i in range(25)]
    table = await db.projects.to_arrow(order_by="name")
    assert table.num_rows == 25


async def test_bulk_create_refuses_a_taken_or_repeated_key_and_writes_nothing(
    lake_database: Database,
) -> None:
    db = lake_database
    await db.projects.create({"name": "Taken", "slug": "taken"})
    with pytest.raises(AlreadyExistsError):
        await db.projects.bulk_create([{"name": "X", "slug": "x"}, {"name": "T", "slug": "taken"}])
    with pytest.raises(AlreadyExistsError, match="same slug"):
        await db.projects.bulk_create([{"name": "Y", "slug": "y"}, {"name": "Y2", "slug": "y"}])
    assert await db.projects.count() == 1


async def test_upserts_insert_then_update_by_natural_key(lake_database: Database) -> None:
    db = lake_database
    made = await db.projects.upsert({"name": "First", "slug": "same"})
    again = await db.projects.upsert({"name": "Second", "slug": "same"})
    assert (again.id, again.name, again.version) == (made.id, "Second", 2)
    assert (
        await db.projects.bulk_upsert(
            [{"name": "Third", "slug": "same"}, {"name": "New", "slug": "new"}]
        )
        == 2
    )
    rows = {p.slug: p for p in (await db.projects.list(limit=10)).items}
    assert (rows["same"].name, rows["same"].version, rows["same"].id) == ("Third", 3, made.id)
    assert rows["new"].version == 1


async def test_an_analytics_answer_on_a_lake(lake_database: Database) -> None:
    db = lake_database
    for number, status in enumerate(("active", "active", "paused")):
        await db.projects.create({"name": status, "slug": f"s-{number}", "status": status})
    rows = await db.analytics.portfolio().rows()
    counts = {(row["status"], row["phase"]): row["count"] for row in rows}
    assert counts == {("active", "requirements"): 2, ("paused", "requirements"): 1}


async def test_search_on_a_lake_finds_what_this_process_committed(
    lake_database: Database,
) -> None:
    db = lake_database
    project = await db.projects.create({"name": "S", "slug": "s"})
    await db.documents.create({"project_id": project.id, "path": "a.md", "content": "websocket"})
    assert [hit.path for hit in await db.search.documents("websocket")] == ["a.md"]
    await db.documents.create({"project_id": project.id, "path": "b.md", "content": "websocket"})
    assert sorted(hit.path for hit in await db.search.documents("websocket")) == ["a.md", "b.md"]
    assert await db.search.documents("nothing-like-it") == []


async def test_the_change_feed_delivers_commits_in_order(lake_database: Database) -> None:
    db = lake_database
    async with db.changes(aggregates="projects") as feed:
        made = await db.projects.create({"name": "Fed", "slug": "fed"})
        await db.projects.update(made.id, {"name": "Fed 2"})
        await db.projects.delete(made.id)
        kinds = [(await asyncio.wait_for(feed.__anext__(), 10)).kind for _ in range(3)]
    assert [str(kind) for kind in kinds] == ["created", "updated", "deleted"]


@pytest.fixture
async def two(lake: Lake, extension_directory: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two ``Database`` objects on one lake: two DuckDB instances, as two processes have."""
    async with (
        lake.open(extension_directory=extension_directory) as one,
        lake.open(extension_directory=extension_directory) as other,
    ):
        yield one, other


async def test_two_databases_on_one_lake_see_each_others_commits(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Shared", "slug": "shared"})
    assert (await other.projects.get(made.id)).name == "Shared"
    await other.projects.update(made.id, {"name": "From two"})
    assert (await one.projects.get(made.id)).name == "From two"
    assert (await one.projects.get(made.id)).version == 2


async def test_a_same_row_race_between_two_databases_is_a_conflict(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Raced", "slug": "raced"})
    with pytest.raises(ConflictError, match="unit of work again"):
        async with one.transaction() as first:
            await first.projects.update(made.id, {"name": "one"})
            # another task, another Database: its own transaction, committed first
            await asyncio.create_task(other.projects.update(made.id, {"name": "two"}))
        # DuckLake refuses one's commit: the row changed since its snapshot
    assert (await one.projects.get(made.id)).name == "two"


async def test_what_a_lake_cannot_serve_says_what_to_use(lake_database: Database) -> None:
    with pytest.raises(UnsupportedOnLakeError, match="ducklake_merge_adjacent_files"):
        await lake_database.checkpoint()
    from project_architect_db.maintenance import compact

    with pytest.raises(UnsupportedOnLakeError, match="ducklake_expire_snapshots"):
        await compact(lake_database.settings.database)


async def test_a_bulk_write_of_many_keys_is_checked_with_one_join(lake_database: Database) -> None:
    db = lake_database
    project = await db.projects.create({"name": "Many", "slug": "many-0"})
    with pytest.raises(AlreadyExistsError, match="many-0"):
        await db.projects.bulk_create(
            [{"name": f"M{i}", "slug": f"many-{i}"} for i in range(100, 0, -1)]
            + [{"name": "again", "slug": "many-0"}]
        )
    await db.documents.create({"project_id": project.id, "path": "d/0.md"})
    documents = [{"project_id": project.id, "path": f"d/{i}.md"} for i in range(1, 100)]
    assert len(await db.documents.bulk_create(documents)) == 99
    with pytest.raises(AlreadyExistsError, match=r"d/7\.md"):
        await db.documents.bulk_create(
            [{"project_id": project.id, "path": f"e/{i}.md"} for i in range(99)]
            + [{"project_id": project.id, "path": "d/7.md"}]
        )
    assert await db.projects.count() == 1
    assert await db.documents.count() == 100


async def test_a_key_committed_after_the_unit_began_is_a_conflict(lake_database: Database) -> None:
    db = lake_database
    async with db.transaction() as tx:
        assert await tx.projects.count() == 0  # the unit's snapshot is taken here
        # another task commits the same slug after that snapshot
        await asyncio.create_task(db.projects.create({"name": "First", "slug": "race"}))
        late = "after this (one began|transaction's snapshot)"
        with pytest.raises(ConflictError, match=late):
            await tx.projects.create({"name": "Second", "slug": "race"})
    assert [p.name for p in (await db.projects.list(limit=5)).items] == ["First"]


async def test_a_bulk_of_many_keys_refuses_a_key_repeated_within_it(
    lake_database: Database,
) -> None:
    db = lake_database
    project = await db.projects.create({"name": "P", "slug": "p"})
    with pytest.raises(AlreadyExistsError, match="Two projects rows of this write"):
        await db.projects.bulk_create(
            [{"name": f"R{i}", "slug": f"rep-{i % 80}"} for i in range(81)]
        )
    # a two-column key with a UUID column (Arrow's uuid type, compared as its 16 bytes)
    with pytest.raises(AlreadyExistsError, match="Two documents rows of this write"):
        await db.documents.bulk_create(
            [{"project_id": project.id, "path": f"r/{i % 70}.md"} for i in range(71)]
        )
    other = await db.projects.create({"name": "Q", "slug": "q"})
    same_paths = [
        {"project_id": owner, "path": f"s/{i}.md"}
        for owner in (project.id, other.id)
        for i in range(40)
    ]
    assert len(await db.documents.bulk_create(same_paths)) == 80  # same path, other project
    assert await db.projects.count() == 2


async def test_a_bulk_committed_after_a_unit_began_refuses_its_keys_there(
    lake_database: Database,
) -> None:
    db = lake_database
    rows = [{"name": f"B{i}", "slug": f"bulk-{i}"} for i in range(100)]
    late = "after this (one began|transaction's snapshot)"
    async with db.transaction() as tx:
        assert await tx.projects.count() == 0  # the unit's snapshot is taken here
        await asyncio.create_task(db.projects.bulk_create(rows))  # commits after it
        with pytest.raises(ConflictError, match=late):
            await tx.projects.create({"name": "Again", "slug": "bulk-42"})
    async with db.transaction() as tx:
        assert await tx.projects.count() == 100
        await asyncio.create_task(db.projects.create({"name": "One", "slug": "one"}))
        with pytest.raises(ConflictError, match=late):
            await tx.projects.bulk_create(
                [
                    *({"name": f"N{i}", "slug": f"n-{i}"} for i in range(99)),
                    {"name": "Dup", "slug": "one"},
                ]
            )
    assert await db.projects.count() == 101
