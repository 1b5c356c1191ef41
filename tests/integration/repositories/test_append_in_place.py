"""Appends update the conversation row in place: DuckDB's ``UPDATE ... RETURNING`` can run twice.

Issue 13 saw ``add_message`` fail 1 in 400 to 1 in 1,500 calls at 1M conversations with
"More than one row matched". On a table with an index, DuckDB 1.5 runs ``UPDATE ... RETURNING``
as a delete + insert (the row moves: its ``rowid`` changes), and the parallel scan of a table of
more than one row group (122,880 rows) sometimes meets the moved row again: updated twice,
returned twice (``scripts/repro_update_returning.py``; docs/architecture.md, "DuckDB: UPDATE ...
RETURNING can update a row twice"). The appends now update the row in place and read it back.

The ``rowid`` tests are deterministic: a row updated in place keeps its ``rowid``, so any
``RETURNING`` brought back on the conversation's update fails them. The two-row-group test
shows the outcome where the race lives (before the fix it failed ~6 appends of its 1,200).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from project_architect_db import Database, IntegrityError, ProjectArchitectDBError
from project_architect_db.core.native_write import NativeWrites
from tests._scale_file import fill_conversations
from tests.integration.core.test_group_commit import Gate

ROW_GROUP = 122_880


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def _rows(db: Database, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """``rowid`` and ``message_count`` of each conversation."""
    async with db.session() as session:
        rows = await session.execute(text("SELECT id, rowid, message_count FROM conversations"))
        return {row[0]: (int(row[1]), int(row[2])) for row in rows if row[0] in ids}


def test_duckdb_moves_an_indexed_row_on_update_returning_and_not_on_update() -> None:
    """The premise of the ``rowid`` tests below (if DuckDB changes it, revisit the fix)."""
    duck = duckdb.connect()
    duck.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    duck.execute("INSERT INTO t SELECT range, 0 FROM range(10)")
    duck.execute("UPDATE t SET n = n + 1 WHERE id = 3")
    assert duck.execute("SELECT rowid, n FROM t WHERE id = 3").fetchall() == [(3, 1)]
    assert duck.execute("UPDATE t SET n = n + 1 WHERE id = 3 RETURNING n").fetchall() == [(2,)]
    assert duck.execute("SELECT rowid, n FROM t WHERE id = 3").fetchall() == [(10, 2)]


async def _conversations(db: Database, count: int) -> list[uuid.UUID]:
    project = await db.projects.create({"name": f"In place {uuid.uuid4().hex[:8]}"})
    return [(await db.conversations.create({"project_id": project.id})).id for _ in range(count)]


@pytest.mark.parametrize("path", ["alone", "transaction", "many"])
async def test_an_append_keeps_the_conversation_row_in_place(file_db: Database, path: str) -> None:
    (conversation_id,) = await _conversations(file_db, 1)
    before = await _rows(file_db, [conversation_id])
    message = {"role": "user", "content": "hello"}
    for _ in range(2):
        if path == "alone":
            await file_db.conversations.add_message(conversation_id, message)
        elif path == "transaction":
            async with file_db.transaction() as tx:
                await tx.conversations.add_message(conversation_id, message)
        else:
            await file_db.conversations.add_messages(conversation_id, [message, message])
    added = 4 if path == "many" else 2
    assert await _rows(file_db, [conversation_id]) == {
        conversation_id: (before[conversation_id][0], added)
    }
    page = await file_db.conversations.messages(conversation_id, limit=10)
    assert [m.sequence for m in page.items] == list(range(1, added + 1))


async def test_merged_appends_keep_every_conversation_row_in_place(file_db: Database) -> None:
    conversations = await _conversations(file_db, 4)
    before = await _rows(file_db, conversations)
    committer = _writes(file_db).committer
    groups = committer.groups  # the creates above went through it too
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
            for c in conversations[1:]
        ]
        while committer.queued < len(tail):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    finally:
        gate.released.set()
    messages = await asyncio.gather(head, *tail)
    assert committer.groups - groups == 2  # the head alone, then the three queued ones merged
    assert [m.sequence for m in messages] == [1, 1, 1, 1]
    assert await _rows(file_db, conversations) == {c: (before[c][0], 1) for c in conversations}


async def test_a_missing_conversation_in_a_merged_group_moves_no_other_row(
    file_db: Database,
) -> None:
    conversations = await _conversations(file_db, 3)
    before = await _rows(file_db, conversations)
    committer = _writes(file_db).committer
    committer.before_commit = gate = Gate()
    try:
        head = asyncio.create_task(
            file_db.conversations.add_message(conversations[0], {"role": "user", "content": "h"})
        )
        await gate.wait()
        missing = uuid.uuid4()
        _writes(file_db).parents.remember(missing, uuid.uuid4())  # passes the lookup, not the hop
        tail = [
            asyncio.create_task(
                file_db.conversations.add_message(c, {"role": "user", "content": "x"})
            )
            for c in (conversations[1], missing, conversations[2])
        ]
        while committer.queued < len(tail):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert isinstance(outcomes[2], IntegrityError)
    assert "create the conversation first" in str(outcomes[2])
    assert all(not isinstance(o, BaseException) for o in outcomes[:2] + outcomes[3:])
    assert await _rows(file_db, conversations) == {c: (before[c][0], 1) for c in conversations}


async def test_an_append_to_a_missing_conversation_in_a_transaction_writes_nothing(
    file_db: Database,
) -> None:
    (conversation_id,) = await _conversations(file_db, 1)
    with pytest.raises(IntegrityError, match="create the conversation first"):
        async with file_db.transaction() as tx:
            await tx.conversations.add_message(conversation_id, {"role": "user", "content": "a"})
            await tx.conversations.add_message(uuid.uuid4(), {"role": "user", "content": "b"})
    assert (await _rows(file_db, [conversation_id]))[conversation_id][1] == 0
    assert (await file_db.conversations.messages(conversation_id, limit=5)).items == []


async def test_appends_on_two_row_groups_count_each_message_once(tmp_path: Path) -> None:
    """Where the double update lives: a parallel scan over more than one row group."""
    path = tmp_path / "two-row-groups.duckdb"
    ids = await fill_conversations(path, ROW_GROUP + 10_000, 1_000)
    rng = random.Random(13)
    errors: list[ProjectArchitectDBError] = []
    async with Database.open(path, load_fts=False) as db:

        async def append(conversation_id: uuid.UUID) -> None:
            try:
                await db.conversations.add_message(
                    conversation_id, {"role": "user", "content": "x"}
                )
            except ProjectArchitectDBError as error:
                errors.append(error)

        for _ in range(600):  # alone
            await append(rng.choice(ids))
        targets = [rng.choice(ids) for _ in range(600)]

        async def worker(share: list[uuid.UUID]) -> None:
            for conversation_id in share:
                await append(conversation_id)

        await asyncio.gather(*(worker(targets[task::20]) for task in range(20)))  # merged
        async with db.session() as session:
            counted = (
                await session.execute(text("SELECT sum(message_count) FROM conversations"))
            ).scalar_one()
            stored = (await session.execute(text("SELECT count(*) FROM messages"))).scalar_one()
    assert errors == []
    assert (counted, stored) == (1_200, 1_200)
