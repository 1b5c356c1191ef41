"""One-statement writes outside a transaction run as native units (``core/native_write.py``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from project_architect_db import (
    ConflictError,
    Database,
    NotFoundError,
    ProjectArchitectDBError,
    ReadOnlyError,
)
from project_architect_db.core import native_write
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.repositories._native_write import update_natively
from project_architect_db.repositories.changes import Change, ChangeKind
from project_architect_db.schemas import ProjectCreate

SLOW = "SELECT count(*) FROM range(4000000000) AS a(i) WHERE i % 7 = 3"


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def _name(db: Database, project_id: object) -> str:
    return (await db.projects.get(project_id)).name  # type: ignore[arg-type]


async def test_an_update_outside_a_transaction_runs_natively(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Native", slug="native"))
    updated = await database.projects.update(project.id, {"name": "Native, renamed"})
    assert (updated.name, updated.version) == ("Native, renamed", 2)
    assert updated.updated_at > project.updated_at
    assert database.projects._native_updates  # compiled once for this set of columns
    assert await _name(database, project.id) == "Native, renamed"
    assert database.locks.held == 0


async def test_an_update_inside_a_transaction_keeps_the_transaction_path(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Tx", slug="tx"))
    async with database.transaction() as tx:
        await tx.projects.update(project.id, {"name": "In tx"})
        async with database.transaction():  # joined: still the caller's transaction
            await database.projects.update(project.id, {"description": "joined"})
        assert (await tx.projects.get(project.id)).description == "joined"
    assert not database.projects._native_updates
    assert not tx.projects._native_updates
    assert (await database.projects.get(project.id)).version == 3


async def test_native_updates_reach_the_change_feed_after_commit_in_order(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Feed", slug="feed"))
    async with database.changes(aggregates="projects") as subscription:
        for index in range(5):
            await database.projects.update(project.id, {"description": f"edit {index}"})
        with pytest.raises(NotFoundError):
            await database.projects.update(
                "018f0000-0000-7000-8000-000000000000", {"description": "nobody"}
            )
        items = [await asyncio.wait_for(subscription.__anext__(), 5) for _ in range(5)]
    assert all(isinstance(item, Change) for item in items)
    assert [(c.kind, c.version) for c in items] == [  # type: ignore[union-attr]
        (ChangeKind.UPDATED, version) for version in range(2, 7)
    ]


async def test_a_missing_row_and_a_stale_version_raise_and_change_nothing(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Stale", slug="stale"))
    with pytest.raises(NotFoundError, match="No project with id"):
        await database.projects.update("018f0000-0000-7000-8000-000000000000", {"name": "Ghost"})
    with pytest.raises(ConflictError, match="version"):
        await database.projects.update(project.id, {"name": "Late"}, expected_version=7)
    assert (await database.projects.get(project.id)).version == 1
    assert await _name(database, project.id) == "Stale"
    assert database.locks.held == 0
    # the kept connections were left with no transaction open
    updated = await database.projects.update(project.id, {"name": "Now"}, expected_version=1)
    assert updated.version == 2


async def test_a_value_the_column_type_refuses_takes_the_transaction_path_and_its_error(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Naive", slug="naive"))
    naive = {"created_at": datetime(2026, 1, 1)}
    writes = _writes(database)
    assert await update_natively(database.projects, writes, project.id, naive, None) is None
    assert (await database.projects.get(project.id)).version == 1
    assert database.locks.held == 0


async def test_concurrent_native_updates_of_one_row_all_apply_or_conflict(
    file_database: Database,
) -> None:
    project = await file_database.projects.create(ProjectCreate(name="Race", slug="race"))
    results = await asyncio.gather(
        *(
            file_database.projects.update(project.id, {"description": f"writer {i}"})
            for i in range(20)
        ),
        return_exceptions=True,
    )
    applied = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(applied) + len(conflicts) == 20
    assert applied
    final = await file_database.projects.get(project.id)
    assert final.version == 1 + len(applied)  # no lost update: every success bumped it
    assert file_database.locks.held == 0


async def test_a_read_only_database_refuses_a_native_update(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "read-only.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as writer:
        project = await writer.projects.create(ProjectCreate(name="Ro", slug="ro"))
    async with Database.open(
        path, read_only=True, extension_directory=extension_directory
    ) as read_only:
        with pytest.raises(ReadOnlyError):
            await read_only.projects.update(project.id, {"name": "Nope"})
        assert await _name(read_only, project.id) == "Ro"


# -- the unit itself ---------------------------------------------------------------------------
async def test_a_unit_whose_body_raises_rolls_back_what_it_ran(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Body", slug="body"))
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Gone' WHERE id = $1", [project.id]
                )
            )
            assert unit.snapshot_taken()
            used = unit._connection
            raise RuntimeError("changed my mind")
    assert not unit.snapshot_taken()
    readers = database._executor.readers
    assert readers is not None
    # rolled back in place: the same connection is kept for the next read, with no transaction
    assert used in [raw.dbapi_connection for raw in readers._idle]
    assert not used.in_transaction
    assert await _name(database, project.id) == "Body"


async def test_a_failing_statement_rolls_back_in_its_own_hop(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Fail", slug="fail"))
    with pytest.raises(duckdb.Error):
        async with _writes(database).unit() as unit:

            def half(duck: duckdb.DuckDBPyConnection) -> None:
                duck.execute("UPDATE projects SET name = 'Half' WHERE id = $1", [project.id])
                duck.execute("SELECT * FROM no_such_table")

            await unit.run(half)
    assert not unit.snapshot_taken()
    assert await _name(database, project.id) == "Fail"


async def test_cancelling_a_running_statement_interrupts_it_and_writes_nothing(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Cancel", slug="cancel"))
    started = asyncio.Event()

    async def write() -> None:
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Cancelled' WHERE id = $1", [project.id]
                )
            )
            started.set()
            await unit.run(lambda duck: duck.execute(SLOW).fetchall())

    task = asyncio.create_task(write())
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert await _name(database, project.id) == "Cancel"
    assert database.locks.held == 0


async def test_a_cancellation_while_the_unit_waits_for_the_commit_lock_writes_nothing(
    database: Database,
) -> None:
    """Its COMMIT has not started: the unit is stopped before its statements run.

    (Once the COMMIT has started, it stands: ``test_native_commit_with.py``.)
    """
    project = await database.projects.create(ProjectCreate(name="Late", slug="late-cancel"))
    lock = database._executor.commit_lock()
    await lock.acquire()  # the update must wait for it: its lock stamp waits for the commit
    try:
        task = asyncio.create_task(database.projects.update(project.id, {"name": "Committed"}))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if lock._waiters:  # type: ignore[attr-defined]
                break
        assert lock._waiters  # type: ignore[attr-defined]
        task.cancel()
    finally:
        lock.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _name(database, project.id) == "Late"
    assert database.locks.held == 0
    updated = await database.projects.update(project.id, {"name": "Then"})  # nothing is stuck
    assert (updated.name, updated.version) == ("Then", 2)


async def test_a_failing_after_commit_callback_neither_undoes_nor_hides_the_commit(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    project = await database.projects.create(ProjectCreate(name="Callback", slug="callback"))
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("subscriber broke")

    with caplog.at_level(logging.ERROR, logger="project_architect_db.transaction"):
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Kept' WHERE id = $1", [project.id]
                )
            )
            unit.after_commit(boom)
            unit.after_commit(lambda: seen.append("second"))
    assert seen == ["second"]
    assert "after-commit callback failed" in caplog.text
    assert await _name(database, project.id) == "Kept"


async def test_a_connection_whose_rollback_fails_is_dropped_not_kept(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers = database._executor.readers
    assert readers is not None
    project = await database.projects.create(ProjectCreate(name="Broken", slug="broken"))

    def refuse(duck: duckdb.DuckDBPyConnection) -> None:
        raise duckdb.IOException("rollback could not be written")

    with pytest.raises(duckdb.IOException, match="rollback could not be written"):
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Never' WHERE id = $1", [project.id]
                )
            )
            used = unit._connection
            monkeypatch.setattr(native_write, "_rollback_quietly", refuse)
            raise RuntimeError("and then the body failed")
    monkeypatch.undo()
    # the connection still holding the open transaction was closed, not kept for reads
    assert used.closed
    assert all(raw.dbapi_connection is not used for raw in readers._idle)
    assert await _name(database, project.id) == "Broken"


async def test_a_closed_database_refuses_a_native_update(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Closed", slug="closed"))
    repository = database.projects
    await database.close()
    with pytest.raises(ProjectArchitectDBError, match=r"not open|closed"):
        await repository.update(project.id, {"name": "After close"})


async def test_a_unit_with_no_callbacks_commits_without_the_commit_lock(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Plain", slug="plain"))
    lock = database._executor.commit_lock()
    await lock.acquire()  # held elsewhere: a unit nobody waits on must not need it
    try:
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Plain, renamed' WHERE id = $1", [project.id]
                )
            )
    finally:
        lock.release()
    assert await _name(database, project.id) == "Plain, renamed"


async def test_a_commit_that_fails_rolls_back_and_keeps_the_connection_usable(
    database: Database,
) -> None:
    """DuckDB refuses the second of two commits of one unique slug at COMMIT time."""
    readers = database._executor.readers
    assert readers is not None
    with pytest.raises(duckdb.Error, match=r"(?i)duplicate|constraint|conflict"):
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, "
                    "architecture, metadata, created_at, updated_at, version) VALUES (uuid(), "
                    "'Mine', 'contested', 'draft', 'requirements', [], [], '{}', '{}', "
                    "now()::TIMESTAMP, now()::TIMESTAMP, 1)"
                )
            )
            used = unit._connection
            # another connection takes the slug and commits first
            await database.projects.create(ProjectCreate(name="Theirs", slug="contested"))
    assert not unit.snapshot_taken()
    assert not used.closed
    winner = await database.projects.get_by_slug("contested")
    assert winner.name == "Theirs"
    assert await database.projects.count(slug="contested") == 1
    # the same kind of unit works again afterwards
    async with _writes(database).unit() as again:
        await again.run(
            lambda duck: duck.execute(
                "UPDATE projects SET description = 'after' WHERE id = $1", [winner.id]
            )
        )
    assert (await database.projects.get(winner.id)).description == "after"


async def test_an_update_that_opens_its_own_transaction_keeps_it(database: Database) -> None:
    """A conversation's update holds the conversation's append lock in a transaction first."""
    project = await database.projects.create(ProjectCreate(name="Chat", slug="chat"))
    conversation = await database.conversations.create(
        {"project_id": project.id, "title": "Kick-off"}
    )
    updated = await database.conversations.update(conversation.id, {"title": "Kick-off, day 2"})
    assert updated.title == "Kick-off, day 2"
    assert updated.updated_at > conversation.updated_at
    assert not database.conversations._native_updates  # joined its own transaction instead
    with pytest.raises(NotFoundError):
        await database.conversations.update(
            "018f0000-0000-7000-8000-000000000000", {"title": "Nobody's"}
        )
    assert (await database.conversations.get(conversation.id)).title == "Kick-off, day 2"


async def test_the_compiled_updates_per_repository_are_bounded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from project_architect_db.repositories import _native_read

    monkeypatch.setattr(_native_read, "MAX_SHAPES", 2)
    project = await database.projects.create(ProjectCreate(name="Shapes", slug="shapes"))
    changes = [{"name": "A"}, {"description": "B"}, {"tags": ["c"]}, {"name": "D", "tags": []}]
    for change in changes:
        await database.projects.update(project.id, change)
        assert len(database.projects._native_updates) <= 2
    final = await database.projects.get(project.id)
    assert (final.name, final.description, final.tags, final.version) == ("D", "B", [], 5)
