"""A remembered answer is a remembered query, never a remembered result."""

from __future__ import annotations

from project_architect_db import Database
from project_architect_db.schemas import ProjectCreate


async def test_a_remembered_answer_reads_the_data_as_it_is_now(database: Database) -> None:
    assert database.analytics is database.analytics
    assert await database.analytics.portfolio().rows() == []
    await database.projects.create(ProjectCreate(name="First", slug="first"))
    rows = await database.analytics.portfolio().rows()
    assert [(r["status"], r["count"]) for r in rows] == [("draft", 1)]
    second = await database.projects.create(ProjectCreate(name="Second", slug="second"))
    await database.projects.update(second.id, {"status": "active"})
    rows = await database.analytics.portfolio().rows()
    assert sorted((r["status"], r["count"]) for r in rows) == [("active", 1), ("draft", 1)]


async def test_refining_a_remembered_answer_leaves_it_unchanged(database: Database) -> None:
    for index in range(3):
        await database.projects.create(ProjectCreate(name=f"P{index}", slug=f"p-{index}"))
    portfolio = database.analytics.portfolio()
    limited = portfolio.limit(0)
    assert await limited.rows() == []
    assert [r["count"] for r in await database.analytics.portfolio().rows()] == [3]
    assert database.analytics.portfolio() is portfolio
