"""A session's point selects by primary key (``core/point_select.py``), on real DuckDB.

Every result of the short path is compared with SQLAlchemy's own result for the same
statement in the same session (``params={}`` sends a statement down SQLAlchemy's path).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from project_architect_db import Database
from project_architect_db.core._sqlalchemy import result_metadata, rows_result, with_processors
from project_architect_db.core.point_select import PointSelects
from project_architect_db.core.session import Session
from project_architect_db.datagen import generate_dataset, load_dataset
from project_architect_db.models import Base, Project
from project_architect_db.repositories._processors import attach_utc, load_json

TABLES = list(Base.metadata.sorted_tables)
PROJECTS: Table = Project.__table__  # type: ignore[assignment]


@pytest.fixture
async def seeded(database: Database) -> Database:
    await load_dataset(
        database,
        generate_dataset(
            7,
            projects=3,
            conversations_per_project=2,
            messages_per_conversation=3,
            documents_per_project=2,
            builds_per_repository=2,
            deployments_per_repository=2,
            attachment_rate=1.0,
        ),
    )
    return database


def _points(db: Database) -> PointSelects:
    return db._executor.point_selects


async def _some_ids(session: AsyncSession, table: Table, count: int = 3) -> list[Any]:
    key = table.primary_key.columns[0]
    rows = (await session.execute(select(key).limit(count), {})).scalars().all()
    assert rows, f"the seed left {table.name} empty"
    return list(rows)


def _same(fast: Any, slow: Any) -> None:
    """The two results' rows, keys and lookups agree (``slow``: SQLAlchemy's own)."""
    assert list(fast.keys()) == list(slow.keys())
    fast_rows, slow_rows = fast.all(), slow.all()
    assert fast_rows == slow_rows
    for fast_row, slow_row in zip(fast_rows, slow_rows, strict=True):
        assert dict(fast_row._mapping) == dict(slow_row._mapping)
        assert [type(value) for value in fast_row] == [type(value) for value in slow_row]


# -- the short path gives SQLAlchemy's answer --------------------------------------------------
@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
async def test_every_table_reads_the_same_row_either_way(seeded: Database, table: Table) -> None:
    key = table.primary_key.columns[0]
    async with seeded.session() as session:
        ids = await _some_ids(session, table)
        await session.execute(select(table).where(key == ids[0]))  # learnt on SQLAlchemy's path
        before = _points(seeded).runs
        for row_id in ids:
            statement = select(table).where(key == row_id)
            _same(await session.execute(statement), await session.execute(statement, {}))
        assert _points(seeded).runs == before + len(ids)


async def test_column_lookups_scalars_and_a_missing_id(seeded: Database) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, table, 1)
        columns = select(table.c.name, table.c.created_at, table.c.architecture)
        await session.execute(columns.where(key == row_id))
        before = _points(seeded).runs
        row = (await session.execute(columns.where(key == row_id))).one()
        assert row._mapping[table.c.name] == row.name == row[0]
        assert row.created_at.tzinfo is not None  # UtcDateTime's result processor ran
        assert isinstance(row.architecture, dict)
        name = (await session.execute(select(table.c.name).where(key == row_id))).scalar_one()
        assert name == row.name
        result = await session.execute(select(table.c.name).where(key == row_id))
        assert (result.returns_rows, result.rowcount) == (True, -1)
        missing = await session.execute(columns.where(key == uuid.uuid4()))
        assert missing.first() is None
        mappings = await session.execute(columns.where(key == row_id))
        assert mappings.mappings().one()["name"] == row.name
        assert _points(seeded).runs == before + 4  # select(name) ran once on SQLAlchemy's path


async def test_it_sees_the_transactions_own_writes_and_not_others(seeded: Database) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    async with seeded.session() as session, seeded.session() as other:
        (row_id,) = await _some_ids(session, table, 1)
        await session.execute(select(table.c.name).where(key == row_id))
        await session.execute(table.update().where(key == row_id).values(name="renamed"))
        read = select(table.c.name).where(key == row_id)
        assert (await session.execute(read)).scalar_one() == "renamed"
        assert (await other.execute(read)).scalar_one() != "renamed"  # not committed yet
        await session.commit()
        await other.rollback()  # a new snapshot
        assert (await other.execute(read)).scalar_one() == "renamed"


async def test_a_first_statement_begins_the_transaction_as_usual(seeded: Database) -> None:
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        await session.commit()
        read = select(PROJECTS).where(PROJECTS.c.id == row_id)
        await session.execute(read)  # learnt
        await session.commit()
        assert not session.in_transaction()
        before = _points(seeded).runs
        assert (await session.execute(read)).one().id == row_id
        assert session.in_transaction()
        assert _points(seeded).runs == before + 1


async def test_a_shape_slow_on_the_loop_moves_to_the_worker(seeded: Database) -> None:
    engine = seeded.engine
    points = PointSelects(seeded._executor.statements.__class__(), budget=0.0)
    async with Session(engine, point_selects=points) as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.slug).where(PROJECTS.c.id == row_id)
        expected = (await session.execute(read, {})).scalar_one()
        for _ in range(12):  # learn, then a timed run, then runs over a zero budget
            assert (await session.execute(read)).scalar_one() == expected
        (entry,) = points._statements.entries("session-point")
        assert entry.inline is False
        assert points.runs == 11


async def test_a_shape_back_within_the_budget_returns_to_the_loop_after_its_cool_down(
    seeded: Database,
) -> None:
    points = PointSelects(seeded._executor.statements.__class__(), budget=0.0)
    async with Session(seeded.engine, point_selects=points) as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.slug).where(PROJECTS.c.id == row_id)
        expected = (await session.execute(read, {})).scalar_one()
        for _ in range(3):  # learn, then timed runs over a zero budget
            assert (await session.execute(read)).scalar_one() == expected
        (entry,) = points._statements.entries("session-point")
        assert entry.inline is False
        points._budget = 5.0  # the row cooled: runs fit again
        entry.cost.until = time.perf_counter() + 60.0  # a long spell
        assert (await session.execute(read)).scalar_one() == expected  # within the cool-down
        assert entry.inline is False
        entry.cost.until = time.perf_counter()  # the cool-down is over
        assert (await session.execute(read)).scalar_one() == expected  # timed on the worker
        assert entry.inline is True
        assert (await session.execute(read)).scalar_one() == expected  # on the loop
        assert points.runs == 5


async def test_concurrent_sessions_each_get_their_own_rows(seeded: Database) -> None:
    async with seeded.session() as session:
        ids = await _some_ids(session, PROJECTS, 3)

    async def reader(row_id: uuid.UUID) -> list[uuid.UUID]:
        async with seeded.session() as session:
            read = select(PROJECTS.c.id).where(PROJECTS.c.id == row_id)
            return [(await session.execute(read)).scalar_one() for _ in range(20)]

    answers = await asyncio.gather(*(reader(row_id) for row_id in ids * 3))
    assert answers == [[row_id] * 20 for row_id in ids * 3]


# -- everything else takes SQLAlchemy's path ---------------------------------------------------
def _not_point_selects() -> dict[str, Any]:
    table, key = PROJECTS, PROJECTS.c.id
    value = uuid.uuid4()
    return {
        "orm entity": select(Project).where(Project.id == value),
        "limit": select(table).where(key == value).limit(1),
        "order by": select(table).where(key == value).order_by(table.c.name),
        "two conditions": select(table).where(key == value, table.c.name == "x"),
        "not equal": select(table).where(key != value),
        "in list": select(table).where(key.in_([value])),
        "not the key": select(table).where(table.c.slug == "x"),
        "a function": select(func.upper(table.c.name)).where(key == value),
        "a label": select(table.c.name.label("n")).where(key == value),
        "an alias": select(alias := table.alias()).where(alias.c.id == value),
        "no value": select(table).where(key == bindparam("k", type_=key.type)),
        "options": select(table).where(key == value).execution_options(padb_note=1),
        "distinct": select(table).where(key == value).distinct(),
        "text": text("SELECT * FROM projects"),
    }


@pytest.mark.parametrize("name", list(_not_point_selects()))
async def test_other_statements_take_sqlalchemys_path(seeded: Database, name: str) -> None:
    statement = _not_point_selects()[name]
    async with seeded.session() as session:
        await _some_ids(session, PROJECTS, 1)
        before = _points(seeded).runs
        if name == "no value":
            with pytest.raises(StatementError, match="A value is required"):
                await session.execute(statement)
        else:
            (await session.execute(statement)).all()
            (await session.execute(statement)).all()
        assert _points(seeded).runs == before


async def test_sessions_that_are_not_plain_take_sqlalchemys_path(seeded: Database) -> None:
    seen: list[Any] = []
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.name).where(PROJECTS.c.id == row_id)
        await session.execute(read)
        before = _points(seeded).runs
        # an execution option, parameters, bind arguments
        await session.execute(read, execution_options={"padb_note": 1})
        await session.execute(read, {})
        await session.execute(read, bind_arguments={"mapper": Project})

        # a do_orm_execute hook sees every statement
        def hook(state: Any) -> None:
            seen.append(state)

        event.listen(session.sync_session, "do_orm_execute", hook)
        await session.execute(read)
        event.remove(session.sync_session, "do_orm_execute", hook)
        # something to autoflush first (sessions of the library do not autoflush by default)
        session.sync_session.autoflush = True
        session.add(Project(name="pending", slug=f"pending-{uuid.uuid4().hex[:8]}"))
        await session.execute(read)
        assert _points(seeded).runs == before
        assert len(seen) == 1
        assert not session.sync_session.new  # it was flushed before the SELECT
        await session.rollback()


# -- errors: SQLAlchemy's, as its own path raises them ------------------------------------------
async def test_a_value_duckdb_refuses_raises_sqlalchemys_error(seeded: Database) -> None:
    bad = select(PROJECTS).where(PROJECTS.c.id == "not-a-uuid")  # the Uuid type passes str on
    errors = []
    for params in (None, {}):  # the short path, then SQLAlchemy's, each in a fresh session
        async with seeded.session() as session:
            (row_id,) = await _some_ids(session, PROJECTS, 1)
            await session.execute(select(PROJECTS).where(PROJECTS.c.id == row_id))
            with pytest.raises(DBAPIError) as caught:
                await session.execute(bad, params)
            errors.append(caught.value)
    assert type(errors[0]) is type(errors[1])
    assert str(errors[0]) == str(errors[1])
    assert "not-a-uuid" in str(errors[0])


class _Positive(TypeDecorator[int]):
    """An integer key whose bind processor refuses negative values."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"{value} is negative")
        return value


async def test_a_value_its_bind_processor_refuses_takes_sqlalchemys_path(
    database: Database,
) -> None:
    metadata = MetaData()
    keyed = Table("padb_keyed", metadata, Column("id", _Positive, primary_key=True))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(keyed.insert().values(id=1))
    async with database.session() as session:
        read = select(keyed).where(keyed.c.id == 1)
        await session.execute(read)  # learnt
        before = _points(database).runs
        assert (await session.execute(read)).scalar_one() == 1
        assert _points(database).runs == before + 1
        errors = []
        for params in (None, {}):
            with pytest.raises(StatementError, match="is negative") as caught:
                await session.execute(select(keyed).where(keyed.c.id == -1), params)
            errors.append(caught.value)
        assert type(errors[0]) is type(errors[1])
        assert str(errors[0].orig) == str(errors[1].orig)  # (SQLAlchemy prints the {} given)
        assert _points(database).runs == before + 1
        assert (await session.execute(read)).scalar_one() == 1  # the session is unharmed


async def test_an_aborted_transaction_raises_the_same_dbapi_error(seeded: Database) -> None:
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.name).where(PROJECTS.c.id == row_id)
        await session.execute(read)
        with pytest.raises(DBAPIError):
            await session.execute(text("SELECT CAST('x' AS INTEGER)"))
        before = _points(seeded).runs
        with pytest.raises(DBAPIError) as fast:
            await session.execute(read)
        with pytest.raises(DBAPIError) as slow:
            await session.execute(read, {})
        assert _points(seeded).runs == before  # it failed: nothing counted
        assert type(fast.value) is type(slow.value)
        assert str(fast.value.orig) == str(slow.value.orig)
        assert "aborted" in str(fast.value).lower()
        await session.rollback()
        assert (await session.execute(read)).scalar_one()  # usable again after ROLLBACK


async def test_a_busy_worker_keeps_the_connection_off_the_loop(seeded: Database) -> None:
    async with seeded.session() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        adapter: Any = raw.dbapi_connection
        assert adapter.run_here(lambda duck: duck.execute("SELECT 1").fetchall()) == (
            True,
            [(1,)],
        )
        assert adapter._worker.claim()  # as if the worker were running something
        try:
            assert adapter.run_here(lambda duck: 1) == (False, None)
        finally:
            adapter._worker.release()


async def test_a_cancelled_point_select_leaves_the_session_usable(seeded: Database) -> None:
    points = PointSelects(seeded._executor.statements.__class__(), budget=0.0)
    async with Session(seeded.engine, point_selects=points) as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.slug).where(PROJECTS.c.id == row_id)
        for _ in range(10):
            await session.execute(read)  # learnt, then sent to the worker for good
        task = asyncio.ensure_future(session.execute(read))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await session.rollback()
        assert (await session.execute(read)).scalar_one() == (
            await session.execute(read, {})
        ).scalar_one()


async def test_engine_events_keep_statements_on_sqlalchemys_path(seeded: Database) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sync_engine = seeded.engine.sync_engine
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.name).where(PROJECTS.c.id == row_id)
        await session.execute(read)
        before = _points(seeded).runs
        event.listen(sync_engine, "before_cursor_execute", seen)
        try:
            await session.execute(read)
        finally:
            event.remove(sync_engine, "before_cursor_execute", seen)
        assert _points(seeded).runs == before
        assert any("WHERE projects.id" in statement for statement in statements)


async def test_a_busy_worker_runs_the_point_select_after_its_work(seeded: Database) -> None:
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.slug).where(PROJECTS.c.id == row_id)
        expected = (await session.execute(read, {})).scalar_one()
        for _ in range(3):
            await session.execute(read)  # learnt, timed on the worker, then inline
        adapter: Any = (await (await session.connection()).get_raw_connection()).dbapi_connection
        assert adapter._worker.claim()  # the worker is busy until released
        asyncio.get_running_loop().call_later(0.05, adapter._worker.release)
        before = _points(seeded).runs
        assert (await session.execute(read)).scalar_one() == expected
        assert _points(seeded).runs == before + 1


async def test_an_explicit_begin_gets_its_connection_from_sqlalchemy_first(
    seeded: Database,
) -> None:
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS.c.name).where(PROJECTS.c.id == row_id)
        await session.execute(read)
        await session.commit()
        async with session.begin():  # a transaction with no connection yet
            before = _points(seeded).runs
            first = (await session.execute(read)).scalar_one()
            assert _points(seeded).runs == before  # SQLAlchemy's path provisions it
            assert (await session.execute(read)).scalar_one() == first
            assert _points(seeded).runs == before + 1


async def test_a_bindparam_statement_takes_its_value_from_the_parameters(
    seeded: Database,
) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    statement = select(table).where(key == bindparam("id"))
    async with seeded.session() as session:
        ids = await _some_ids(session, table, 3)
        await session.execute(statement, {"id": ids[0]})  # learnt
        before = _points(seeded).runs
        for row_id in ids:
            fast = await session.execute(statement, {"id": row_id})
            slow = await session.execute(select(table).where(key == row_id), {})
            _same(fast, slow)
        assert _points(seeded).runs == before + len(ids)


async def test_other_parameters_take_sqlalchemys_path(seeded: Database) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    statement = select(table.c.name).where(key == bindparam("id"))
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, table, 1)
        expected = (await session.execute(statement, {"id": row_id})).scalar_one()
        before = _points(seeded).runs
        # an extra name (SQLAlchemy ignores it), a NULL value, a list of parameter sets
        extra = await session.execute(statement, {"id": row_id, "other": 1})
        assert extra.scalar_one() == expected
        assert (await session.execute(statement, {"id": None})).first() is None
        with pytest.raises(StatementError, match="A value is required"):
            await session.execute(statement, {"name": "x"})
        assert _points(seeded).runs == before
        # a literal value with parameters for it: SQLAlchemy's path too
        literal = select(table.c.name).where(key == row_id)
        assert (await session.execute(literal, {"id_1": row_id})).scalar_one() == expected
        assert _points(seeded).runs == before


# -- rows made with the repositories' result processors -----------------------------------------
async def test_rows_are_made_with_the_repositories_processors(seeded: Database) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, table, 1)
        await session.execute(select(table).where(key == row_id))  # learnt
        (entry,) = _points(seeded)._statements.entries("session-point")
        by_name = dict(zip(entry.metadata.keys, entry.metadata._processors, strict=True))
        assert by_name["architecture"] is load_json
        assert by_name["created_at"] is attach_utc
        assert by_name["tags"] is None  # DuckDB's list is the row's value as it is
        row = (await session.execute(select(table).where(key == row_id))).one()
        assert row == (await session.execute(select(table).where(key == row_id), {})).one()


async def test_a_layout_it_cannot_remake_is_kept_as_it_is(seeded: Database) -> None:
    async with seeded.session() as session:
        result = await session.execute(select(PROJECTS.c.id, PROJECTS.c.name).limit(1), {})
        metadata = result_metadata(result)
        assert metadata is not None
        remade = with_processors(metadata, [None, str.upper])
        assert remade is not metadata
        assert remade._processors == [None, str.upper]
        assert list(remade.keys) == list(metadata.keys)
        assert with_processors(metadata, [None]) is metadata  # another column count
        simple = rows_result(metadata, iter([])).columns("name")._metadata
        assert with_processors(simple, [None]) is simple  # a tuple filter: not remade


async def test_a_database_without_processors_keeps_sqlalchemys(seeded: Database) -> None:
    points = PointSelects(seeded._executor.statements.__class__())
    async with Session(seeded.engine, point_selects=points) as session:
        (row_id,) = await _some_ids(session, PROJECTS, 1)
        read = select(PROJECTS).where(PROJECTS.c.id == row_id)
        await session.execute(read)
        (entry,) = points._statements.entries("session-point")
        assert entry.processors is None
        assert load_json not in entry.metadata._processors
        _same(await session.execute(read), await session.execute(read, {}))


async def test_a_uuid_key_runs_without_the_cast_and_other_values_keep_it(seeded: Database) -> None:
    table, key = PROJECTS, PROJECTS.c.id
    async with seeded.session() as session:
        (row_id,) = await _some_ids(session, table, 1)
        await session.execute(select(table).where(key == row_id))  # learnt
        (entry,) = _points(seeded)._statements.entries("session-point")
        assert entry.sql.endswith("projects.id = $1::UUID")
        assert entry.uncast == entry.sql.removesuffix("::UUID")
        before = _points(seeded).runs
        for value in (row_id, str(row_id), str(row_id).upper(), row_id.hex):
            statement = select(table).where(key == value)
            _same(await session.execute(statement), await session.execute(statement, {}))
        assert _points(seeded).runs == before + 4


@pytest.mark.parametrize("value", [12345, 2.5, True], ids=["int", "float", "bool"])
async def test_a_key_value_of_another_type_raises_sqlalchemys_error(
    seeded: Database, value: Any
) -> None:
    errors = []
    for params in (None, {}):  # the short path (the cast kept), then SQLAlchemy's
        async with seeded.session() as session:
            (row_id,) = await _some_ids(session, PROJECTS, 1)
            await session.execute(select(PROJECTS).where(PROJECTS.c.id == row_id))
            with pytest.raises(DBAPIError) as caught:
                await session.execute(select(PROJECTS).where(PROJECTS.c.id == value), params)
            errors.append(caught.value)
    assert type(errors[0]) is type(errors[1])
    assert str(errors[0]) == str(errors[1])
