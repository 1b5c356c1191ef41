"""``update`` changes a row once: no ``UPDATE ... RETURNING`` (DuckDB can update a row twice).

On a table with an index, DuckDB 1.5 runs ``UPDATE ... RETURNING`` as a delete + insert (the
row moves: its ``rowid`` changes), and the parallel scan of a table of more than one row group
(122,880 rows) now and then meets the moved row again: updated twice, returned twice
(docs/architecture.md, "DuckDB: UPDATE ... RETURNING can update a row twice"). Before the fix,
2,000 ``db.projects.update`` calls on 250k projects bumped ``version`` 2,006 times, and inside a
transaction SQLAlchemy's ``one_or_none`` raised "More than one row matched". ``update`` now
sends a plain ``UPDATE`` and reads the row back in the same transaction (the same hop outside
one), on every path.

The ``rowid`` tests are deterministic: a plain ``UPDATE`` of non-indexed columns keeps the row
in place, so a ``RETURNING`` brought back on ``update`` fails them. The two-row-group test shows
the outcome where the race lives (before the fix it counted ~3-9 extra bumps of its 2,000).
Upserts (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) keep ``RETURNING``: they find the
row through the unique index, with no scan that could meet it again; the same test counts
them.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    NotFoundError,
    ProjectArchitectDBError,
)
from project_architect_db.models.enums import BuildStatus
from project_architect_db.schemas import ProjectRead
from tests._scale_file import fill_conversations

ROW_GROUP = 122_880
PATHS = ["alone", "transaction"]


async def _state(db: Database, project_id: uuid.UUID) -> tuple[Any, ...]:
    """``rowid``, ``version``, ``slug``, ``description`` and ``updated_at`` of one project."""
    async with db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT rowid, version, slug, description, updated_at FROM projects "
                    "WHERE id = :id"
                ),
                {"id": project_id},
            )
        ).one()
        return tuple(row)


async def _update(
    db: Database, path: str, project_id: uuid.UUID, data: dict[str, Any], **kwargs: Any
) -> ProjectRead:
    if path == "alone":
        return await db.projects.update(project_id, data, **kwargs)
    async with db.transaction() as tx:
        return await tx.projects.update(project_id, data, **kwargs)


@pytest.mark.parametrize("path", PATHS)
async def test_an_update_keeps_the_row_in_place_and_returns_it_as_stored(
    file_db: Database, path: str
) -> None:
    project = await file_db.projects.create({"name": "In place"})
    rowid = (await _state(file_db, project.id))[0]
    first = await _update(file_db, path, project.id, {"description": "one"})
    second = await _update(
        file_db, path, project.id, {"description": "two"}, expected_version=first.version
    )
    assert (first.version, second.version) == (2, 3)
    assert second == await file_db.projects.get(project.id)
    assert await _state(file_db, project.id) == (
        rowid,
        3,
        project.slug,
        "two",
        second.updated_at.replace(tzinfo=None),
    )


async def _rowid(db: Database, table: str, row_id: uuid.UUID) -> int:
    async with db.session() as session:
        query = text(f"SELECT rowid FROM {table} WHERE id = :id")
        return int((await session.execute(query, {"id": row_id})).scalar_one())


async def test_finishing_a_build_and_revising_a_document_keep_their_rows_in_place(
    file_db: Database,
) -> None:
    """The other updates of one row (``finish_build``, a document's revision) send no RETURNING."""
    project = await file_db.projects.create({"name": "Runs"})
    repository = await file_db.code_repositories.upsert_from_url(
        project.id, "https://github.com/acme/in-place"
    )
    started = datetime(2026, 1, 1, tzinfo=UTC)
    build = await file_db.code_repositories.record_build(
        repository.id,
        {"commit_sha": "abc1234", "branch": "main", "status": "running", "started_at": started},
    )
    document = await file_db.documents.create(
        {"project_id": project.id, "path": "docs/a.md", "content": "v1"}
    )
    build_rowid = await _rowid(file_db, "builds", build.id)
    document_rowid = await _rowid(file_db, "documents", document.id)
    finished = await file_db.code_repositories.finish_build(
        build.id, "success", started + timedelta(seconds=5)
    )
    revised = await file_db.documents.update(document.id, {"content": "v2"})
    assert (finished.status, finished.duration_seconds) == (BuildStatus.SUCCESS, 5.0)
    assert (revised.version, revised.content) == (2, "v2")
    assert revised == await file_db.documents.get(document.id)
    assert await _rowid(file_db, "builds", build.id) == build_rowid
    assert await _rowid(file_db, "documents", document.id) == document_rowid


@pytest.mark.parametrize("path", PATHS)
async def test_an_update_of_a_missing_row_is_not_found(db: Database, path: str) -> None:
    project = await db.projects.create({"name": "Bystander"})
    before = await _state(db, project.id)
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError, match=f"No project with id {missing}"):
        await _update(db, path, missing, {"description": "nobody"})
    with pytest.raises(NotFoundError, match=f"No project with id {missing}"):
        await _update(db, path, missing, {"description": "nobody"}, expected_version=1)
    assert await _state(db, project.id) == before


@pytest.mark.parametrize("path", PATHS)
async def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(
    db: Database, path: str
) -> None:
    project = await db.projects.create({"name": "Stale"})
    await db.projects.update(project.id, {"description": "moved on"})
    before = await _state(db, project.id)
    with pytest.raises(ConflictError, match="is at version 2, not 1: someone changed it"):
        await _update(db, path, project.id, {"description": "late"}, expected_version=1)
    assert await _state(db, project.id) == before


@pytest.mark.parametrize("path", PATHS)
async def test_a_taken_slug_is_already_exists_and_changes_nothing(db: Database, path: str) -> None:
    taken = await db.projects.create({"name": "Taken"})
    project = await db.projects.create({"name": "Mover"})
    before = await _state(db, project.id)
    with pytest.raises(AlreadyExistsError):
        await _update(db, path, project.id, {"slug": taken.slug, "description": "moved"})
    assert await _state(db, project.id) == before
    assert (await _update(db, path, project.id, {"description": "still usable"})).version == 2


async def test_updates_on_two_row_groups_count_each_update_once(tmp_path: Path) -> None:
    """Where the double update lives: a parallel scan over more than one row group."""
    path = tmp_path / "two-row-groups.duckdb"
    await fill_conversations(path, 0, ROW_GROUP + 10_000)
    rng = random.Random(12)
    errors: list[ProjectArchitectDBError] = []
    async with Database.open(path, load_fts=False) as db:
        async with db.session() as session:
            ids = [row[0] for row in await session.execute(text("SELECT id FROM projects"))]
        chosen = [rng.choice(ids) for _ in range(3_000)]
        alone, in_transactions, upserted = chosen[:1_000], chosen[1_000:2_000], chosen[2_000:]
        for project_id in alone:  # one hop each
            try:
                await db.projects.update(project_id, {"description": "alone"})
            except ProjectArchitectDBError as error:
                errors.append(error)
        for start in range(0, len(in_transactions), 10):  # ten updates per transaction
            try:
                async with db.transaction() as tx:
                    for project_id in in_transactions[start : start + 10]:
                        await tx.projects.update(project_id, {"description": "in a transaction"})
            except ProjectArchitectDBError as error:
                errors.append(error)
        async with db.session() as session:
            rows = await session.execute(text("SELECT id, slug FROM projects"))
            slugs = {row[0]: row[1] for row in rows}
        for project_id in upserted:  # INSERT ... ON CONFLICT DO UPDATE on the slug
            try:
                await db.projects.upsert({"name": "Upserted", "slug": slugs[project_id]})
            except ProjectArchitectDBError as error:
                errors.append(error)
        async with db.session() as session:
            rows = await session.execute(text("SELECT id, version FROM projects WHERE version > 1"))
            versions = {row[0]: row[1] for row in rows}
    assert errors == []
    assert versions == {key: 1 + times for key, times in Counter(chosen).items()}
