"""``bulk_upsert`` on the generic repository (projects, natural key ``slug``)."""

from __future__ import annotations

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, ValidationError


async def test_bulk_upsert_inserts_new_keys_and_updates_existing_ones(db: Database) -> None:
    created = await db.projects.bulk_create(
        [{"name": f"Old {i}", "slug": f"p-{i}", "description": "v1"} for i in range(3)]
    )
    before = {p.slug: p for p in (await db.projects.list(limit=10)).items}
    count = await db.projects.bulk_upsert(
        [
            {"name": "New 0", "slug": "p-0", "description": "v2"},
            {"name": "New 1 (first)", "slug": "p-1"},
            {"name": "New 1", "slug": "p-1", "description": "v2"},  # later record wins
            {"name": "Brand new", "slug": "p-9"},
        ]
    )
    assert count == 3  # one row per key
    after = {p.slug: p for p in (await db.projects.list(limit=10)).items}
    assert set(after) == {"p-0", "p-1", "p-2", "p-9"}
    assert (after["p-0"].name, after["p-0"].description) == ("New 0", "v2")
    assert after["p-1"].name == "New 1"
    assert after["p-2"] == before["p-2"]  # untouched
    for slug in ("p-0", "p-1"):
        assert after[slug].id == before[slug].id  # same row, updated in place
        assert after[slug].version == before[slug].version + 1
        assert after[slug].created_at == before[slug].created_at
    assert after["p-9"].version == 1
    assert len(created) == 3


async def test_bulk_upsert_of_nothing_writes_nothing(db: Database) -> None:
    assert await db.projects.bulk_upsert([]) == 0
    assert await db.projects.count() == 0


async def test_bulk_upsert_with_an_invalid_record_writes_nothing(db: Database) -> None:
    await db.projects.create({"name": "Keep", "slug": "keep"})
    with pytest.raises(ValidationError):
        await db.projects.bulk_upsert(
            [{"name": "Changed", "slug": "keep"}, {"name": "Bad", "slug": "NOT A SLUG"}]
        )
    assert (await db.projects.get_by_slug("keep")).name == "Keep"
    assert await db.projects.count() == 1


async def test_bulk_upsert_refuses_a_mapping_and_an_unknown_key(db: Database) -> None:
    with pytest.raises(ValidationError, match="list of records"):
        await db.projects.bulk_upsert({"name": "x", "slug": "x"})  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        await db.projects.bulk_upsert([{"name": "x", "slug": "x"}], on=["colour"])
    assert await db.projects.count() == 0
