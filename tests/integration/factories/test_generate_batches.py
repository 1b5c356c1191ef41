"""``generate_batches``: a dataset as blocks of projects, loaded one after another.

Peak memory of seeding 10M messages is measured by ``benchmarks/measure_memory.py seed`` (a
process of its own); these tests check what the bound relies on: batches are complete on
their own, load together like one dataset, stay deterministic, and a load of batches is all
or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest

from project_architect_db import Database
from project_architect_db.datagen import (
    ROWS_PER_BATCH,
    SCALE_SIZES,
    Dataset,
    generate_batches,
    generate_dataset,
    load_dataset,
    rows_per_project,
)
from project_architect_db.exceptions import AlreadyExistsError

NOW = datetime(2025, 6, 30, tzinfo=UTC)
SIZES = {
    "projects": 12,
    "conversations_per_project": 2,
    "messages_per_conversation": 6,
    "documents_per_project": 2,
    "versions_per_document": 1,
    "repositories_per_project": 1,
    "builds_per_repository": 4,
    "deployments_per_repository": 2,
    "attachment_rate": 0.5,
}


def _batches(per_batch: int | None = 5, seed: int = 3) -> list[Dataset]:
    return list(generate_batches(seed, now=NOW, projects_per_batch=per_batch, **SIZES))


async def _count(db: Database, sql: str) -> int:
    async with db.transaction() as tx:
        return int(await tx.run_native(lambda duck: duck.execute(sql).fetchone()[0]))


def test_a_dataset_that_fits_one_batch_is_generate_dataset_s() -> None:
    (only,) = _batches(per_batch=None)
    assert only.equals(generate_dataset(3, now=NOW, **SIZES))
    (same,) = _batches(per_batch=12)
    assert same.equals(only)


def test_batches_split_the_projects_and_repeat_for_the_same_arguments() -> None:
    batches = _batches()
    assert [b.projects.num_rows for b in batches] == [5, 5, 2]
    assert [b.messages.num_rows for b in batches] == [60, 60, 24]
    again = _batches()
    assert all(a.equals(b) for a, b in zip(batches, again, strict=True))
    # another batch size or seed: other (equally consistent) data
    assert not _batches(per_batch=4)[0].equals(batches[0])
    assert not _batches(seed=4)[0].equals(batches[0])
    for batch in batches:  # rows in created_at order within every batch
        created = batch.messages.column("created_at")
        assert created.to_pylist() == sorted(created.to_pylist())


def test_ids_and_slugs_stay_unique_across_batches() -> None:
    batches = _batches(per_batch=1)
    slugs = [s for b in batches for s in b.projects.column("slug").to_pylist()]
    assert len(slugs) == len(set(slugs)) == 12
    for table in ("projects", "messages", "builds"):
        ids = [i for b in batches for i in b.tables[table].column("id").to_pylist()]
        assert len(ids) == len(set(ids))


async def test_batches_load_as_one_consistent_database(
    tmp_path: Path, extension_directory: Path
) -> None:
    batches = _batches()
    async with Database.open(
        tmp_path / "batches.duckdb", extension_directory=extension_directory
    ) as db:
        written = await load_dataset(db, iter(batches))
        assert written == sum(sum(b.row_counts().values()) for b in batches)
        assert await _count(db, "SELECT count(*) FROM projects") == 12
        orphans = """
            SELECT count(*) FROM messages m
            LEFT JOIN conversations c ON c.id = m.conversation_id AND c.project_id = m.project_id
            WHERE c.id IS NULL
        """
        assert await _count(db, orphans) == 0
        counts_match = """
            SELECT count(*) FROM conversations c
            WHERE c.message_count <> (SELECT count(*) FROM messages m
                                      WHERE m.conversation_id = c.id)
        """
        assert await _count(db, counts_match) == 0
        # the repositories work on it as on any data
        assert await db.projects.count() == 12
        conversation = batches[2].conversations["id"][0].as_py()
        assert len((await db.conversations.messages(conversation)).items) == 6


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"projects_per_batch": 0}, ValueError, "projects_per_batch must be >= 1"),
        ({"projects_per_batch": "5"}, TypeError, "projects_per_batch must be an int"),
        ({"projects_per_batch": True}, TypeError, "projects_per_batch must be an int"),
        ({"projects": -1}, ValueError, "projects must be >= 0"),
        ({"messages_per_conversation": 2.5}, TypeError, "must be an int"),
        ({"attachment_rate": 2.0}, ValueError, "attachment_rate"),
        ({"now": datetime(2025, 1, 1)}, ValueError, "timezone-aware"),
    ],
)
def test_bad_sizes_are_refused_before_any_batch_is_made(
    arguments: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        generate_batches(1, **arguments)  # type: ignore[arg-type]


def test_the_scale_preset_is_issue_13_s_and_makes_batches_of_about_rows_per_batch() -> None:
    per_project = rows_per_project(SCALE_SIZES)
    assert (
        SCALE_SIZES["projects"]
        * SCALE_SIZES["conversations_per_project"]
        * SCALE_SIZES["messages_per_conversation"]
        == 10_000_000
    )
    first = next(generate_batches(1, now=NOW, **SCALE_SIZES))
    rows = sum(first.row_counts().values())
    assert first.projects.num_rows == int(ROWS_PER_BATCH // per_project)
    assert 0.9 * ROWS_PER_BATCH <= rows <= 1.1 * ROWS_PER_BATCH
    assert pc.max(first.messages.column("created_at")).as_py() <= NOW.replace(tzinfo=None)


async def test_a_load_failing_in_a_later_batch_leaves_nothing_behind(
    tmp_path: Path, extension_directory: Path
) -> None:
    def failing() -> Iterator[Dataset]:
        batches = generate_batches(3, now=NOW, projects_per_batch=5, **SIZES)
        yield next(batches)
        raise RuntimeError("the generator failed after one batch")

    async with Database.open(
        tmp_path / "failing.duckdb", extension_directory=extension_directory
    ) as db:
        with pytest.raises(RuntimeError, match="after one batch"):
            await load_dataset(db, failing())
        assert await _count(db, "SELECT count(*) FROM projects") == 0
        assert await _count(db, "SELECT count(*) FROM messages") == 0


async def test_a_load_whose_later_batch_clashes_leaves_nothing_behind(
    tmp_path: Path, extension_directory: Path
) -> None:
    first = _batches()[0]
    async with Database.open(
        tmp_path / "clash.duckdb", extension_directory=extension_directory
    ) as db:
        with pytest.raises(AlreadyExistsError):
            await load_dataset(db, [first, _batches()[1], first])
        assert await _count(db, "SELECT count(*) FROM projects") == 0
