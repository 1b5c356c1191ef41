"""``get(..., as_of=)``: a row as a past snapshot of the lake saw it (DuckLake time travel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, NotFoundError
from project_architect_db.maintenance import DEFAULT_RETENTION, maintain_lake


async def _snapshot(db: Database) -> int:
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT id FROM ducklake_current_snapshot('padb_lake')"
        )
        return int(result.scalar_one())


async def test_get_as_of_a_version_and_a_time_sees_the_row_as_it_was(
    lake_database: Database,
) -> None:
    project = await lake_database.projects.create({"name": "Before", "slug": "p"})
    version = await _snapshot(lake_database)
    moment = datetime.now(UTC)
    await lake_database.projects.update(project.id, {"name": "After"})
    assert (await lake_database.projects.get(project.id)).name == "After"
    then = await lake_database.projects.get(project.id, as_of=version)
    assert then.name == "Before"
    assert then.id == project.id and then.created_at == project.created_at  # typed as a read
    assert (await lake_database.projects.get(project.id, as_of=moment)).name == "Before"


async def test_a_row_that_did_not_exist_then_is_not_found(lake_database: Database) -> None:
    version = await _snapshot(lake_database)
    project = await lake_database.projects.create({"name": "Later", "slug": "later"})
    with pytest.raises(NotFoundError, match="No project"):
        await lake_database.projects.get(project.id, as_of=version)


async def test_a_snapshot_the_lake_does_not_have_is_not_found_and_says_why(
    lake_database: Database,
) -> None:
    project = await lake_database.projects.create({"name": "P", "slug": "p"})
    with pytest.raises(NotFoundError, match="expired by db-vacuum"):
        await lake_database.projects.get(project.id, as_of=10**9)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(NotFoundError, match="no snapshot at"):
        await lake_database.projects.get(project.id, as_of=long_ago)


async def test_as_of_must_be_a_version_or_an_aware_datetime(lake_database: Database) -> None:
    project = await lake_database.projects.create({"name": "P", "slug": "p"})
    for wrong in (-1, True, "3", 1.5):
        with pytest.raises(InvalidQueryError, match="snapshot id"):
            await lake_database.projects.get(project.id, as_of=wrong)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="time-zone-aware"):
        await lake_database.projects.get(project.id, as_of=datetime.now() - timedelta(1))


async def test_a_file_refuses_as_of_and_says_what_to_use(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "a.duckdb") as db:
        project = await db.projects.create({"name": "P", "slug": "p"})
        with pytest.raises(InvalidQueryError, match="ducklake:postgres"):
            await db.projects.get(project.id, as_of=1)


# -- pages and analytics as of a snapshot ---------------------------------------------------


async def _three_then_changes(db: Database) -> tuple[int, datetime, list[Any]]:
    """Three projects; the snapshot and the time after them; then one added, one renamed,
    one deleted."""
    made = [await db.projects.create({"name": f"P{n}", "slug": f"p-{n}"}) for n in range(3)]
    version, moment = await _snapshot(db), datetime.now(UTC)
    await db.projects.create({"name": "Later", "slug": "later", "status": "paused"})
    await db.projects.update(made[0].id, {"name": "Renamed"})
    await db.projects.delete(made[1].id)
    return version, moment, made


async def test_a_page_as_of_a_snapshot_shows_the_rows_as_they_were(
    lake_database: Database,
) -> None:
    db = lake_database
    version, moment, made = await _three_then_changes(db)
    now = await db.projects.list(order_by="slug")
    assert [p.slug for p in now.items] == ["later", "p-0", "p-2"]
    for as_of in (version, moment):
        then = await db.projects.list(order_by="slug", as_of=as_of, with_total=True)
        assert [(p.slug, p.name) for p in then.items] == [
            ("p-0", "P0"),
            ("p-1", "P1"),
            ("p-2", "P2"),
        ]
        assert then.total == 3
        assert [p.id for p in then.items] == [row.id for row in made]  # typed as reads
    # filters and keyset pages work on the past too
    first = await db.projects.list(order_by="slug", limit=2, as_of=version)
    assert first.next_cursor is not None
    rest = await db.projects.list(order_by="slug", cursor=first.next_cursor, as_of=version)
    assert [p.slug for p in rest.items] == ["p-2"]
    named = await db.projects.list(name="P0", as_of=version)
    assert [p.slug for p in named.items] == ["p-0"]


async def test_an_analytics_answer_as_of_a_snapshot_equals_the_answer_then(
    lake_database: Database,
) -> None:
    db = lake_database
    for number, status in enumerate(("active", "active", "paused")):
        await db.projects.create({"name": status, "slug": f"s-{number}", "status": status})
    before = await db.analytics.portfolio().rows()
    version, moment = await _snapshot(db), datetime.now(UTC)
    made = await db.projects.create({"name": "x", "slug": "x", "status": "paused"})
    conversation = await db.conversations.create({"project_id": made.id})
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "hi"})
    assert await db.analytics.portfolio().rows() != before
    assert await db.analytics.portfolio().as_of(version).rows() == before
    assert await db.analytics.portfolio().as_of(moment).rows() == before
    # a query joining tables reads every one of them as of the same snapshot
    health = db.analytics.project_health()
    assert len(await health.rows()) == 4
    assert len(await health.as_of(version).rows()) == 3
    # Arrow and a transaction's path too
    assert (await db.analytics.portfolio().as_of(version).to_arrow()).num_rows == len(before)
    async with db.transaction():
        assert await db.analytics.portfolio().as_of(version).rows() == before


async def test_as_of_a_future_snapshot_or_a_naive_time_is_refused(lake_database: Database) -> None:
    db = lake_database
    await _three_then_changes(db)
    with pytest.raises(NotFoundError, match="no snapshot at"):
        await db.projects.list(as_of=10**9)
    with pytest.raises(NotFoundError, match="no snapshot at"):
        await db.analytics.portfolio().as_of(10**9).rows()
    with pytest.raises(NotFoundError, match="no snapshot at"):
        await db.projects.list(as_of=datetime(2000, 1, 1, tzinfo=UTC))
    naive = datetime.now() - timedelta(1)
    with pytest.raises(InvalidQueryError, match="time-zone-aware"):
        await db.projects.list(as_of=naive)
    with pytest.raises(InvalidQueryError, match="time-zone-aware"):
        db.analytics.portfolio().as_of(naive)
    with pytest.raises(InvalidQueryError, match="snapshot id"):
        await db.projects.list(as_of="3")  # type: ignore[arg-type]


async def test_a_snapshot_expired_by_maintenance_is_not_found(lake_database: Database) -> None:
    db = lake_database
    version, _, _ = await _three_then_changes(db)
    assert len((await db.projects.list(as_of=version)).items) == 3
    later = datetime.now(UTC) + DEFAULT_RETENTION + timedelta(days=1)
    report = await maintain_lake(db.engine, now=later)
    assert version in report.expired_snapshots
    with pytest.raises(NotFoundError, match="expired by db-vacuum"):
        await db.projects.list(as_of=version)
    with pytest.raises(NotFoundError, match="expired by db-vacuum"):
        await db.analytics.portfolio().as_of(version).rows()
    assert len((await db.projects.list()).items) == 3  # the present is intact


async def test_a_file_refuses_a_page_and_an_answer_as_of(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "a.duckdb") as db:
        await db.projects.create({"name": "P", "slug": "p"})
        with pytest.raises(InvalidQueryError, match="ducklake:postgres"):
            await db.projects.list(as_of=1)
        with pytest.raises(InvalidQueryError, match="ducklake:postgres"):
            await db.analytics.portfolio().as_of(1).rows()
