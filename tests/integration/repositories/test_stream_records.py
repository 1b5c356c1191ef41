"""``stream()`` records are made from DuckDB's tuples with ``get``'s record makers.

They must be exactly what the SQLAlchemy path made before (``model_validate`` of each row's
mapping): same class, values, types (down to JSON leaves and time zones), on every table. A
stored value the schema refuses is a library ``ValidationError``, as it is for ``get``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from project_architect_db import Database
from project_architect_db.exceptions import ValidationError
from project_architect_db.repositories import _bulk_reads
from project_architect_db.repositories._native_read import NativeSelects
from tests.integration.repositories.test_read_records import _rows, assert_identical


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 2 rows: every table's stream crosses chunk boundaries."""
    monkeypatch.setattr(_bulk_reads, "STREAM_CHUNK", 2)


async def _validated(db: Database, repository: Any, **conditions: Any) -> list[Any]:
    """The records as the SQLAlchemy path made them: ``model_validate`` of every row."""
    table = repository._table
    where = repository._where((), conditions)
    async with db.transaction() as tx:
        rows = (await tx.execute(select(table).where(*where).order_by(table.c.id))).all()
    return [repository.read_schema.model_validate(row._mapping) for row in rows]


async def _streamed(repository: Any, **conditions: Any) -> list[Any]:
    return [record async for batch in repository.stream(batch_size=3, **conditions)
            for record in batch]  # fmt: skip


async def test_every_table_streams_the_records_model_validate_makes(db: Database) -> None:
    rows = await _rows(db)
    repositories = {id(repository): repository for repository, _ in rows}.values()
    assert len(repositories) == 9  # every table with a Read schema
    for repository in repositories:
        # every row of the table (the edge rows, plus the parents' and children's)
        expected = await _validated(db, repository)
        streamed = await _streamed(repository)
        assert len(streamed) == len(expected) > 0, repository.read_schema.__name__
        for made, validated in zip(streamed, expected, strict=True):
            assert_identical(made, validated)


async def test_a_stream_with_an_in_list_takes_sqlalchemy_s_path_with_the_same_records(
    db: Database,
) -> None:
    await _rows(db)
    for status in ("draft", "active"):
        await db.projects.create({"name": f"In {status}", "status": status})
    executor = db._executor
    statement = db.projects._chunk(
        db.projects._where((), {"status__in": ["draft", "active"]}),
        _bulk_reads.parse_order(db.projects.model, None),
        None,
    )
    # an IN list is expanded when SQLAlchemy runs it: no native form, the other path
    assert NativeSelects(executor.dialect, executor.statements).prepare(statement) is None
    conditions = {"status__in": ["draft", "active"]}
    expected = await _validated(db, db.projects, **conditions)
    streamed = await _streamed(db.projects, **conditions)
    assert len(streamed) == len(expected) >= 3
    for made, validated in zip(streamed, expected, strict=True):
        assert_identical(made, validated)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("metadata = '[1, 2]'", "metadata: Input should be a valid dictionary"),
        ("tags = ['a', NULL]", "tags.1: Input should be a valid string"),
    ],
)
async def test_a_stored_value_the_schema_refuses_is_a_library_validation_error(
    db: Database, assignment: str, message: str
) -> None:
    ids: list[uuid.UUID] = []
    for name in ("First", "Second", "Third", "Fourth"):
        ids.append((await db.projects.create({"name": name})).id)
    async with db.engine.begin() as connection:  # the third row, in the second chunk
        await connection.execute(
            text(f"UPDATE projects SET {assignment} WHERE id = :id"), {"id": sorted(ids)[2]}
        )
    with pytest.raises(ValidationError, match=message):
        await _streamed(db.projects)
    async with db.transaction() as tx:  # a stream in a transaction reads in it: the same error
        with pytest.raises(ValidationError, match=message):
            await _streamed(tx.projects)


async def test_a_stream_of_conversations_remembers_their_projects_as_get_does(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    chats = [await db.conversations.create({"project_id": project.id}) for _ in range(5)]
    parents = db._executor.writes.parents
    parents._ids.clear()  # forget what the creates noted: only the stream notes them now
    await _streamed(db.conversations)
    assert {chat.id: parents.get(chat.id) for chat in chats} == {
        chat.id: project.id for chat in chats
    }


async def test_a_stream_with_an_in_list_matching_nothing_yields_no_batch(db: Database) -> None:
    await db.projects.create({"name": "Atlas", "status": "active"})
    assert await _streamed(db.projects, status__in=["archived"]) == []


async def test_native_work_runs_in_a_reading_scope_with_or_without_a_transaction(
    db: Database,
) -> None:
    def one(duck: Any) -> int:
        return int(duck.execute("SELECT 1").fetchone()[0])

    async with db._context.reading() as reader:  # outside a transaction: a kept connection
        assert await reader.run_native(one) == 1
    async with db.transaction(), db._context.reading() as reader:
        assert await reader.run_native(one) == 1
