"""``add_message`` outside a transaction: one hop, grouped and coalesced, on real DuckDB files.

See ``repositories/_conversations_append.py`` and ``core/group_commit.py``. Groups are made
deterministic with the committer's ``before_commit`` seam (``Gate`` of the core tests).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from project_architect_db import (
    AlreadyExistsError,
    Database,
    IntegrityError,
    ProjectArchitectDBError,
    ValidationError,
)
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.repositories._conversations_append import Append, remember_project
from project_architect_db.repositories.changes import Change, ChangeKind
from project_architect_db.schemas import MessageCreate
from tests.integration.core.test_group_commit import Gate
from tests.integration.repositories.conftest import open_with_schema

WRITER = Path(__file__).with_name("_group_append_writer.py")


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def _conversations(db: Database, count: int) -> list[uuid.UUID]:
    project = await db.projects.create({"name": f"Chat {uuid.uuid4().hex[:8]}"})
    return [(await db.conversations.create({"project_id": project.id})).id for _ in range(count)]


async def _stored(db: Database) -> dict[uuid.UUID, list[tuple[int, str, uuid.UUID]]]:
    """Every stored message, per conversation, by sequence: (sequence, content, id)."""
    async with db.session() as session:
        rows = await session.execute(
            text("SELECT conversation_id, sequence, content, id FROM messages ORDER BY 1, 2")
        )
        stored: dict[uuid.UUID, list[tuple[int, str, uuid.UUID]]] = defaultdict(list)
        for conversation_id, sequence, content, message_id in rows:
            stored[conversation_id].append((int(sequence), str(content), message_id))
        return stored


async def _counts(db: Database) -> dict[uuid.UUID, int]:
    async with db.session() as session:
        rows = await session.execute(text("SELECT id, message_count FROM conversations"))
        return {row[0]: int(row[1]) for row in rows}


async def test_a_thousand_appends_from_fifty_tasks_with_one_in_ten_invalid(
    file_db: Database,
) -> None:
    conversations = await _conversations(file_db, 50)
    committer = _writes(file_db).committer
    units, groups = committer.units, committer.groups  # the creates above went through it too
    rng = random.Random(12)
    expected: dict[uuid.UUID, list[str]] = defaultdict(list)
    errors: list[tuple[str, BaseException]] = []

    async def writer(task: int) -> None:
        conversation_id = conversations[task]
        for index in range(20):
            content = f"{task}/{index}"
            kind = "valid" if rng.random() >= 0.1 else rng.choice(["data", "missing"])
            try:
                if kind == "data":
                    await file_db.conversations.add_message(
                        conversation_id, {"role": "nobody", "content": content}
                    )
                elif kind == "missing":
                    await file_db.conversations.add_message(
                        uuid.uuid4(), {"role": "user", "content": content}
                    )
                else:
                    message = await file_db.conversations.add_message(
                        conversation_id, {"role": "user", "content": content}
                    )
                    assert message.content == content
                    assert message.sequence == len(expected[conversation_id]) + 1
                    expected[conversation_id].append(content)
                    continue
            except ProjectArchitectDBError as error:
                errors.append((kind, error))
                continue
            raise AssertionError(f"an invalid append ({kind}) succeeded")

    await asyncio.gather(*(writer(task) for task in range(50)))
    invalid = 1000 - sum(len(contents) for contents in expected.values())
    assert len(errors) == invalid and 50 <= invalid <= 150
    for kind, error in errors:  # each invalid caller got its own error, of its own kind
        assert isinstance(error, ValidationError if kind == "data" else IntegrityError), error
    stored, counts = await _stored(file_db), await _counts(file_db)
    for conversation_id in conversations:
        rows = stored.get(conversation_id, [])
        assert [content for _, content, _ in rows] == expected[conversation_id]  # once each
        assert [sequence for sequence, _, _ in rows] == list(range(1, len(rows) + 1))
        assert counts[conversation_id] == len(rows)
    assert committer.units - units == 1000 - invalid  # every valid append went through it
    assert committer.groups - groups < committer.units - units  # concurrent ones were grouped
    assert file_db.locks.held == 0


async def test_grouped_appends_reach_the_change_feed_in_commit_order(file_db: Database) -> None:
    conversations = await _conversations(file_db, 20)
    async with file_db.changes(aggregates=["messages", "conversations"]) as feed:

        async def writer(conversation_id: uuid.UUID) -> None:
            for index in range(5):
                await file_db.conversations.add_message(
                    conversation_id,
                    {
                        "role": "user",
                        "content": f"m{index}",
                        "attachments": [{"url": f"https://x.test/{index}", "file_type": "png"}]
                        if index == 2
                        else [],
                    },
                )

        await asyncio.gather(*(writer(c) for c in conversations))
        changes = [await asyncio.wait_for(feed.__anext__(), 5) for _ in range(200)]
    assert all(isinstance(change, Change) for change in changes)
    sequences = [change.sequence for change in changes]  # type: ignore[union-attr]
    assert sequences == sorted(sequences)
    stored = await _stored(file_db)
    position = {
        message_id: sequence for rows in stored.values() for sequence, _, message_id in rows
    }
    seen: dict[uuid.UUID | None, list[int]] = defaultdict(list)
    for change in changes:
        assert isinstance(change, Change)
        if change.aggregate == "messages":
            assert change.kind is ChangeKind.CREATED
            owner = next(c for c, rows in stored.items() if any(r[2] == change.id for r in rows))
            seen[owner].append(position[change.id])
        else:
            assert (change.aggregate, change.kind) == ("conversations", ChangeKind.UPDATED)
    assert all(order == [1, 2, 3, 4, 5] for order in seen.values())  # per conversation, in order
    assert len(seen) == 20
    assert _writes(file_db).committer.groups < 100


async def test_concurrent_appends_merge_into_one_update_and_one_insert(
    file_db: Database,
) -> None:
    first, *rest = await _conversations(file_db, 6)
    committer = _writes(file_db).committer
    groups = committer.groups  # the creates above went through it too
    committer.before_commit = gate = Gate()
    try:
        head = asyncio.create_task(
            file_db.conversations.add_message(first, {"role": "user", "content": "head"})
        )
        await gate.wait()
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(
                    conversation_id,
                    {
                        "role": "assistant",
                        "content": f"merged {index}",
                        "metadata": {"n": index},
                        "attachments": [{"url": f"s3://b/{index}", "file_type": "txt"}],
                    },
                )
            )
            for index, conversation_id in enumerate(rest)
        ]
        while committer.queued < len(tail):  # noqa: ASYNC110 - the queue has no event
            await asyncio.sleep(0.005)
    finally:
        gate.released.set()
    messages = await asyncio.gather(head, *tail)
    assert committer.groups - groups == 2
    for index, message in enumerate(messages[1:]):
        assert message == await file_db.conversations.get_message(message.id)
        assert (message.sequence, message.metadata_) == (1, {"n": index})
        attachments = await file_db.conversations.attachments(message_id=message.id)
        assert [a.url for a in attachments] == [f"s3://b/{index}"]
    counts = await _counts(file_db)
    assert all(counts[c] == 1 for c in [first, *rest])


@pytest.mark.parametrize("grouped", [False, True])
async def test_a_conversation_deleted_after_its_id_was_remembered_fails_only_its_append(
    file_db: Database, grouped: bool
) -> None:
    conversations = await _conversations(file_db, 4)
    gone = conversations[2]
    await _delete_behind_the_repository(file_db, gone)
    committer = _writes(file_db).committer
    targets = conversations[1:] if grouped else [gone]
    if grouped:
        committer.before_commit = gate = Gate()
    try:
        head = (
            asyncio.create_task(
                file_db.conversations.add_message(
                    conversations[0], {"role": "user", "content": "h"}
                )
            )
            if grouped
            else None
        )
        if grouped:
            await gate.wait()
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(c, {"role": "user", "content": "x"})
            )
            for c in targets
        ]
        while grouped and committer.queued < len(tail):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    finally:
        if grouped:
            gate.released.set()
    outcomes = await asyncio.gather(*(t for t in [head, *tail] if t), return_exceptions=True)
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], IntegrityError)
    assert "create the conversation first" in str(failed[0])
    stored = await _stored(file_db)
    assert gone not in stored and len(stored) == (3 if grouped else 0)


async def _delete_behind_the_repository(db: Database, *ids: uuid.UUID) -> None:
    """No tombstone, no lock: only the hop's own check can notice."""
    async with db.session() as session:
        for conversation_id in ids:
            await session.execute(text(f"DELETE FROM conversations WHERE id = '{conversation_id}'"))
        await session.commit()


async def test_a_merged_group_whose_conversations_are_all_gone_writes_nothing(
    file_db: Database,
) -> None:
    first, *gone = await _conversations(file_db, 3)
    await _delete_behind_the_repository(file_db, *gone)
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate()
    try:
        head = asyncio.create_task(
            file_db.conversations.add_message(first, {"role": "user", "content": "h"})
        )
        await gate.wait()
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(c, {"role": "user", "content": "x"})
            )
            for c in gone
        ]
        while committer.queued < len(tail):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert not isinstance(outcomes[0], BaseException)
    assert all(isinstance(o, IntegrityError) for o in outcomes[1:])
    assert list(await _stored(file_db)) == [first]


async def test_appends_to_one_conversation_never_merge(file_db: Database) -> None:
    """The writes-key lock keeps them apart; the merged path refuses them anyway."""
    (conversation_id,) = await _conversations(file_db, 1)
    project_id = _writes(file_db).parents.get(conversation_id)
    record = MessageCreate.model_validate({"role": "user", "content": "twice"})
    one, two = (
        Append(file_db.conversations, conversation_id, project_id, record) for _ in range(2)
    )
    merged = await _writes(file_db).read(lambda duck: one.run_together(duck, [one, two]))
    assert merged is None
    assert conversation_id not in await _stored(file_db)


@pytest.mark.parametrize("grouped", [False, True])
async def test_a_wrong_remembered_project_is_caught_inside_the_hop(
    file_db: Database, grouped: bool
) -> None:
    """A poisoned cache (never produced by the library) cannot write under the wrong project."""
    conversations = await _conversations(file_db, 3)
    _writes(file_db).parents.remember(conversations[1], uuid.uuid4())
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate()
    try:
        head = asyncio.create_task(
            file_db.conversations.add_message(conversations[0], {"role": "user", "content": "h"})
        )
        await gate.wait()
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(c, {"role": "user", "content": "x"})
            )
            for c in (conversations[1:] if grouped else conversations[1:2])
        ]
        while committer.queued < len(tail):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert isinstance(outcomes[1], IntegrityError)
    assert all(not isinstance(o, BaseException) for o in outcomes[:1] + outcomes[2:])
    counts = await _counts(file_db)
    assert counts[conversations[1]] == 0  # the bump was rolled back with the refused append


async def test_a_forgotten_conversation_is_looked_up_once_and_a_missing_one_never_queues(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "lookup.duckdb"
    db = await open_with_schema(path, extension_directory)
    (conversation_id,) = await _conversations(db, 1)
    await db.close()
    db = await open_with_schema(path, extension_directory)  # a new process: nothing remembered
    try:
        writes = _writes(db)
        assert writes.parents.get(conversation_id) is None
        message = await db.conversations.add_message(
            conversation_id, {"role": "user", "content": "a"}
        )
        assert message.sequence == 1 and writes.parents.get(conversation_id) == message.project_id
        with pytest.raises(IntegrityError, match="create the conversation first"):
            await db.conversations.add_message(uuid.uuid4(), {"role": "user", "content": "b"})
        with pytest.raises(ValidationError):
            await db.conversations.add_message(conversation_id, {"role": "user"})
        assert writes.committer.units == 1
    finally:
        await db.close()


async def test_concurrent_lookups_of_forgotten_conversations_leave_close_able_to_checkpoint(
    tmp_path: Path, extension_directory: Path
) -> None:
    """Regression: the lookup read its row with ``fetchone()``, leaving the result (and its
    auto-commit transaction) open on the kept reader connection, so ``close()``'s CHECKPOINT
    failed with TransactionError after concurrent appends to conversations not remembered."""
    path = tmp_path / "lookups.duckdb"
    db = await open_with_schema(path, extension_directory)
    conversations = await _conversations(db, 20)
    await db.close()
    db = await open_with_schema(path, extension_directory)  # nothing remembered
    try:
        messages = await asyncio.gather(
            *(
                db.conversations.add_message(c, {"role": "user", "content": "x"})
                for c in conversations
            )
        )
        assert [m.sequence for m in messages] == [1] * 20
        with pytest.raises(IntegrityError, match="create the conversation first"):
            await db.conversations.add_message(uuid.uuid4(), {"role": "user", "content": "b"})
    finally:
        await db.close()  # raised TransactionError ("Cannot CHECKPOINT") before the fix
    with duckdb.connect(path) as duck:
        assert duck.execute("SELECT count(*) FROM messages").fetchall() == [(20,)]


async def test_add_message_inside_a_transaction_keeps_the_transaction_path(
    file_db: Database,
) -> None:
    (conversation_id,) = await _conversations(file_db, 1)
    committer = _writes(file_db).committer
    units = committer.units  # the creates above went through it
    async with file_db.transaction() as tx:
        await tx.conversations.add_message(conversation_id, {"role": "user", "content": "in"})
        await file_db.conversations.add_message(conversation_id, {"role": "user", "content": "j"})
    with pytest.raises(RuntimeError, match="roll back"):
        async with file_db.transaction() as tx:
            await tx.conversations.add_message(conversation_id, {"role": "user", "content": "x"})
            raise RuntimeError("roll back")
    assert committer.units == units
    stored = await _stored(file_db)
    assert [(s, c) for s, c, _ in stored[conversation_id]] == [(1, "in"), (2, "j")]


async def test_the_parent_cache_is_bounded() -> None:
    from project_architect_db.core.native_write import Parents

    parents = Parents(size=2)
    parents.remember("a", 1)
    parents.remember("b", 2)
    parents.remember("a", 3)  # known: replaced, nothing dropped
    parents.remember("c", 4)  # full: the oldest goes
    assert (parents.get("a"), parents.get("b"), parents.get("c"), len(parents)) == (3, None, 4, 2)
    remember_project(None, "d", 5)  # a context without native writes remembers nothing
    assert parents.get("d") is None


async def test_a_commit_refused_by_a_session_transaction_that_committed_first(
    file_db: Database,
) -> None:
    """A session transaction commits message 1 of a conversation the group is appending to.

    DuckDB checks the unique ``(conversation_id, sequence)`` against other transactions at
    COMMIT, so the group's COMMIT is refused. Each unit then runs alone: the one whose
    sequence was taken gets ``AlreadyExistsError``; the others commit.
    """
    first, victim, bystander = await _conversations(file_db, 3)
    project_id = _writes(file_db).parents.get(victim)
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate(hold=(1, 2))
    try:
        head = asyncio.create_task(
            file_db.conversations.add_message(first, {"role": "user", "content": "head"})
        )
        await gate.wait()
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(c, {"role": "user", "content": "grouped"})
            )
            for c in (victim, bystander)
        ]
        while committer.queued < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        gate.released.set()
        await gate.wait()  # the group of two holds before its COMMIT, its rows written
        async with file_db.transaction() as tx:
            await tx.session.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, project_id, sequence, role, "
                    "content, type, token_count, metadata, created_at) VALUES "
                    f"(uuid(), '{victim}', '{project_id}', 1, 'user', 'rival', 'text', 0, "
                    "'{}', now())"
                )
            )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert isinstance(outcomes[2 - 1], AlreadyExistsError), outcomes
    assert not isinstance(outcomes[0], BaseException)
    assert not isinstance(outcomes[2], BaseException)
    stored = await _stored(file_db)
    assert [c for _, c, _ in stored[victim]] == ["rival"]
    assert [c for _, c, _ in stored[bystander]] == ["grouped"]
    counts = await _counts(file_db)
    assert (counts[victim], counts[bystander]) == (0, 1)  # the refused bump was rolled back


@pytest.mark.parametrize("while_", ["queued", "committing"])
async def test_an_append_cancelled_while_queued_or_committing(
    file_db: Database, while_: str
) -> None:
    """Queued, nothing of it is written; once its group's COMMIT started, it stands."""
    first, target = await _conversations(file_db, 2)
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate(hold=(1,) if while_ == "queued" else (1, 2))
    async with file_db.changes(aggregates="messages") as feed:
        try:
            head = asyncio.create_task(
                file_db.conversations.add_message(first, {"role": "user", "content": "head"})
            )
            await gate.wait()
            task = asyncio.create_task(
                file_db.conversations.add_message(target, {"role": "user", "content": "it"})
            )
            while committer.queued < 1:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            if while_ == "committing":
                gate.released.set()
                await gate.wait()  # its group holds at its COMMIT, which nothing stops now
            task.cancel()
            await asyncio.sleep(0.01)
        finally:
            gate.released.set()
        await head
        with pytest.raises(asyncio.CancelledError):
            await task
        expected = 2 if while_ == "committing" else 1
        changes = [await asyncio.wait_for(feed.__anext__(), 5) for _ in range(expected)]
    stored = await _stored(file_db)
    if while_ == "queued":  # nothing of it written, nothing published
        assert target not in stored and (await _counts(file_db))[target] == 0
    else:  # it committed; the cancellation came after
        assert [c for _, c, _ in stored[target]] == ["it"]
        assert (await _counts(file_db))[target] == 1
    assert len(changes) == expected
    assert file_db.locks.held == 0 and committer.queued == 0


async def test_an_append_cancelled_while_its_group_runs_writes_and_publishes_nothing(
    file_db: Database,
) -> None:
    """Grouped with a unit whose statements are running: stopped before its COMMIT."""
    first, target = await _conversations(file_db, 2)
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate()
    waiting, proceed = threading.Event(), threading.Event()

    def neighbour(duck: duckdb.DuckDBPyConnection) -> int:
        waiting.set()
        proceed.wait(30)
        return int(duck.execute("SELECT 1").fetchone()[0])  # type: ignore[index]

    async def neighbour_unit() -> int:
        async with _writes(file_db).unit() as unit:
            return await unit.commit_with(neighbour)

    async with file_db.changes(aggregates="messages") as feed:
        try:
            head = asyncio.create_task(
                file_db.conversations.add_message(first, {"role": "user", "content": "head"})
            )
            await gate.wait()
            task = asyncio.create_task(
                file_db.conversations.add_message(target, {"role": "user", "content": "it"})
            )
            other = asyncio.create_task(neighbour_unit())
            while committer.queued < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            gate.released.set()
            assert await asyncio.to_thread(waiting.wait, 30)  # the group runs its statements
            task.cancel()
            await asyncio.sleep(0.05)
        finally:
            gate.released.set()
            proceed.set()
        await head
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await other == 1  # its neighbour is not failed
        await asyncio.wait_for(feed.__anext__(), 5)  # the head's append
        with pytest.raises(TimeoutError):  # nothing published for the cancelled append
            await asyncio.wait_for(feed.__anext__(), 0.3)
    stored = await _stored(file_db)
    assert target not in stored and (await _counts(file_db))[target] == 0
    assert file_db.locks.held == 0 and committer.queued == 0
    message = await file_db.conversations.add_message(target, {"role": "user", "content": "next"})
    assert message.sequence == 1  # no gap left behind


def test_a_kill_during_group_commits_loses_no_acknowledged_append(tmp_path: Path) -> None:
    """A process appends from 40 tasks and prints each acknowledged id; SIGKILL after 300."""
    path = tmp_path / "killed.duckdb"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    acked: list[tuple[str, str]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ack "):
                _, conversation_id, message_id = line.split()
                acked.append((conversation_id, message_id))
                if len(acked) >= 300:
                    break
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()
    assert len(acked) >= 300, "the writer ended before 300 acknowledgements"

    async def check() -> None:
        db = await Database.open(path)
        try:
            stored = await _stored(db)
            counts = await _counts(db)
        finally:
            await db.close()
        ids = {str(message_id) for rows in stored.values() for _, _, message_id in rows}
        assert {message_id for _, message_id in acked} <= ids  # every ack survived
        for conversation_id, rows in stored.items():
            assert [sequence for sequence, _, _ in rows] == list(range(1, len(rows) + 1))
            assert counts[conversation_id] == len(rows)

    asyncio.run(check())
