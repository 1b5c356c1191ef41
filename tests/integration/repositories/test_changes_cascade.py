"""A delete that cascades tells subscribers, in its one change, which rows went with it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from project_architect_db import Change, ChangeKind, Database, Gap, NotFoundError, Subscription
from project_architect_db.datagen import TABLE_NAMES
from project_architect_db.repositories._code_repositories_runs import BuildStore, DeploymentStore
from project_architect_db.repositories.changes import MAX_CASCADED_IDS

_WITHIN = 20.0


async def _next(subscription: Subscription) -> Change | Gap:
    return await asyncio.wait_for(subscription.__anext__(), _WITHIN)


async def _rest(subscription: Subscription) -> list[Change | Gap]:
    subscription.close()
    return [item async for item in subscription]


async def _ids(db: Database, table: str, column: str, value: uuid.UUID) -> set[uuid.UUID]:
    async with db.transaction() as tx:
        rows = await tx.execute(text(f"SELECT id FROM {table} WHERE {column} = :v"), {"v": value})
        return {row[0] for row in rows}


async def _conversation(db: Database, project_id: uuid.UUID, messages: int) -> Any:
    conversation = await db.conversations.create({"project_id": project_id, "title": "chat"})
    for i in range(messages):
        attachments = [{"url": f"https://files.example/{i}.png", "file_type": "image/png"}]
        await db.conversations.add_message(
            conversation.id,
            {"role": "user", "content": f"m{i}", "attachments": attachments if i == 0 else []},
        )
    return conversation


async def test_deleting_a_conversation_lists_its_messages_and_attachments(db: Database) -> None:
    project = await db.projects.create({"name": "Chatty"})
    conversation = await _conversation(db, project.id, messages=3)
    other = await _conversation(db, project.id, messages=1)
    messages = await _ids(db, "messages", "conversation_id", conversation.id)
    attachments = await _ids(db, "attachments", "conversation_id", conversation.id)
    subscription = db.changes()

    await db.conversations.delete(conversation.id)

    change = await _next(subscription)
    assert isinstance(change, Change)
    assert (change.aggregate, change.id, change.kind) == (
        "conversations",
        conversation.id,
        ChangeKind.DELETED,
    )
    assert change.project_id == project.id
    assert change.cascaded == {"messages": 3, "attachments": 1}
    assert set(change.cascaded_ids["messages"]) == messages
    assert set(change.cascaded_ids["attachments"]) == attachments
    assert change.removed("messages") == messages
    assert change.removed("conversations") == {conversation.id}
    assert change.removed("documents") == frozenset()
    # one event for the whole delete, and the other conversation is untouched
    assert await _rest(subscription) == []
    assert len(await _ids(db, "messages", "conversation_id", other.id)) == 1


async def test_deleting_a_project_tells_what_went_with_it(db: Database) -> None:
    project = await db.projects.create({"name": "Everything"})
    await _conversation(db, project.id, messages=2)
    document = await db.documents.create({"project_id": project.id, "path": "README.md"})
    await db.documents.update(document.id, {"content": "second version"})
    repo = await db.code_repositories.upsert_from_url(project.id, "https://github.com/acme/all")
    build = await db.code_repositories.record_build(
        repo.id, {"status": "success", "commit_sha": "3f2a9c1", "branch": "main"}
    )
    await db.code_repositories.record_deployment(
        repo.id,
        {
            "build_id": build.id,
            "environment": "production",
            "status": "success",
            "commit_sha": "3f2a9c1",
        },
    )
    tables = [table for table in TABLE_NAMES if table != "projects"]
    before = {table: await _ids(db, table, "project_id", project.id) for table in tables}
    assert all(before.values())
    bystander = await db.projects.create({"name": "Bystander"})
    await _conversation(db, bystander.id, messages=1)
    subscription = db.changes(project_id=project.id)

    await db.projects.delete(project.id)

    change = await _next(subscription)
    assert isinstance(change, Change)
    assert (change.aggregate, change.kind) == ("projects", ChangeKind.DELETED)
    assert change.cascaded == {table: len(ids) for table, ids in before.items()}
    assert {table: set(ids) for table, ids in change.cascaded_ids.items()} == before
    assert await _rest(subscription) == []
    assert [table for table in tables if await _ids(db, table, "project_id", project.id)] == []
    assert await _ids(db, "messages", "project_id", bystander.id)


async def test_a_subscriber_to_messages_learns_the_messages_of_a_deleted_conversation_are_gone(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Filtered"})
    elsewhere = await db.projects.create({"name": "Elsewhere"})
    conversation = await _conversation(db, project.id, messages=2)
    messages = await _ids(db, "messages", "conversation_id", conversation.id)
    only_messages = db.changes(aggregates="messages", project_id=project.id)
    only_documents = db.changes(aggregates=["documents"])
    other_project = db.changes(project_id=elsewhere.id)

    await db.conversations.delete(conversation.id)

    change = await _next(only_messages)
    assert isinstance(change, Change)
    assert change.aggregate == "conversations"
    assert change.removed("messages") == messages
    # nothing of theirs went: the other subscribers hear nothing
    assert await _rest(only_documents) == []
    assert await _rest(other_project) == []


async def test_a_delete_that_cascades_to_nothing_reaches_only_its_own_table(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Empty chat"})
    conversation = await db.conversations.create({"project_id": project.id})
    only_messages = db.changes(aggregates="messages")
    conversations = db.changes(aggregates="conversations")

    await db.conversations.delete(conversation.id)

    change = await _next(conversations)
    assert isinstance(change, Change)
    assert change.cascaded == {}
    assert change.cascaded_ids == {}
    assert change.removed("messages") == frozenset()
    assert await _rest(only_messages) == []


async def test_a_cascade_above_the_id_limit_gives_the_count_without_the_ids(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Long chat"})
    conversation = await file_db.conversations.create({"project_id": project.id})
    many = MAX_CASCADED_IDS + 1
    await file_db.conversations.add_messages(
        conversation.id, [{"role": "user", "content": f"m{i}"} for i in range(many)]
    )
    subscription = file_db.changes(aggregates="messages")

    await file_db.projects.delete(project.id)

    change = await _next(subscription)
    assert isinstance(change, Change)
    assert change.cascaded == {"conversations": 1, "messages": many}
    assert "messages" not in change.cascaded_ids  # too many to list: the count says reload
    assert change.cascaded_ids["conversations"] == (conversation.id,)
    assert change.removed("messages") is None
    assert change.removed("conversations") == {conversation.id}
    assert await file_db.conversations.count() == 0


async def test_a_rolled_back_cascade_publishes_nothing_and_keeps_the_rows(db: Database) -> None:
    project = await db.projects.create({"name": "Kept"})
    conversation = await _conversation(db, project.id, messages=2)
    subscription = db.changes()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.conversations.delete(conversation.id)
            raise RuntimeError("changed my mind")
    with pytest.raises(NotFoundError):
        await db.conversations.delete(uuid.uuid4())
    assert await _rest(subscription) == []
    assert len(await _ids(db, "messages", "conversation_id", conversation.id)) == 2


async def test_a_cascading_delete_counts_as_one_event_in_a_gap(db: Database) -> None:
    project = await db.projects.create({"name": "Gappy"})
    conversations = [await _conversation(db, project.id, messages=3) for _ in range(3)]
    slow = db.changes(max_queue=1)
    for conversation in conversations:
        await db.conversations.delete(conversation.id)
    items = await _rest(slow)
    gap, last = items
    assert isinstance(gap, Gap)
    assert gap.missed == 2  # two deletes dropped, not the 2 x 7 rows they removed
    assert isinstance(last, Change)
    assert last.id == conversations[-1].id
    assert last.cascaded == {"messages": 3, "attachments": 1}


def test_removed_of_a_create_or_update_is_empty() -> None:
    row = uuid.uuid4()
    for kind in (ChangeKind.CREATED, ChangeKind.UPDATED):
        change = Change("messages", row, kind, None, None)
        assert change.removed("messages") == frozenset()
    assert hash(Change("projects", row, ChangeKind.DELETED, 1, row, cascaded={"documents": 2}))


async def test_an_optional_reference_is_cleared_not_reported_as_deleted(db: Database) -> None:
    # Builds have no public delete; the store is what a repository delete runs on.
    project = await db.projects.create({"name": "Builds"})
    repo = await db.code_repositories.upsert_from_url(project.id, "https://github.com/acme/b")
    build = await db.code_repositories.record_build(
        repo.id, {"commit_sha": "3f2a9c1", "branch": "m"}
    )
    deployment = await db.code_repositories.record_deployment(
        repo.id, {"build_id": build.id, "environment": "staging", "commit_sha": "3f2a9c1"}
    )
    subscription = db.changes(aggregates="deployments")
    builds = db.changes(aggregates="builds")

    await BuildStore(db._context).delete(build.id)

    change = await _next(builds)
    assert isinstance(change, Change)
    assert (change.id, change.cascaded) == (build.id, {})
    assert await _rest(subscription) == []  # the deployment stays, without its build
    kept = await DeploymentStore(db._context).get(deployment.id)
    assert kept.build_id is None
