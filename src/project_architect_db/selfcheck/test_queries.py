"""Full-text search from the offline fts extension, analytics and export."""

from __future__ import annotations

from pathlib import Path

import pytest

from project_architect_db import Database, InvalidQueryError
from project_architect_db.models import Project
from project_architect_db.queries.analytics import count
from project_architect_db.schemas import DocumentCreate, ProjectCreate
from project_architect_db.selfcheck._support import on_database


def test_search_finds_committed_documents_and_forgets_deleted_ones(tmp_path: Path) -> None:
    async def body(db: Database) -> tuple[list[str], list[str], list[str]]:
        project = await db.projects.create(ProjectCreate(name="Search", slug="search"))
        kept = await db.documents.create(
            DocumentCreate(
                project_id=project.id,
                path="auth.md",
                content="Authentication uses short-lived tokens and refresh tokens.",
            )
        )
        dropped = await db.documents.create(
            DocumentCreate(
                project_id=project.id, path="deploy.md", content="Blue green deployment."
            )
        )
        first = [hit.path for hit in await db.search.documents("tokens")]
        second = [hit.path for hit in await db.search.documents("deployment")]
        await db.documents.delete(dropped.id)
        third = [hit.path for hit in await db.search.documents("deployment")]
        assert kept.path == "auth.md"
        return first, second, third

    assert on_database(tmp_path / "search.duckdb", body) == (["auth.md"], ["deploy.md"], [])


def test_analytics_counts_match_what_was_written(tmp_path: Path) -> None:
    async def body(db: Database) -> dict[str, int]:
        for i, status in enumerate(["draft", "active", "active", "paused", "active"]):
            await db.projects.create(ProjectCreate(name=f"P{i}", slug=f"p-{i}", status=status))
        with pytest.raises(InvalidQueryError):
            db.analytics.query(Project).group_by("no_such_field")
        rows = await db.analytics.query(Project).group_by("status").aggregate(count()).rows()
        target = tmp_path / "by_status.parquet"
        exported = await db.analytics.portfolio().export(target)
        assert exported > 0
        assert target.stat().st_size > 0
        return {row["status"]: row["count"] for row in rows}

    assert on_database(":memory:", body) == {"draft": 1, "active": 3, "paused": 1}
