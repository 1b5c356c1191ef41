"""Fixtures for the aggregate repositories' own verbs (real DuckDB, file and memory)."""

from __future__ import annotations

import pytest

from project_architect_db import Database
from project_architect_db.schemas import ConversationRead, ProjectRead, RepositoryRead


@pytest.fixture
async def project(db: Database) -> ProjectRead:
    """A project in ``db``."""
    return await db.projects.create({"name": "Atlas"})


@pytest.fixture
async def conversation(db: Database, project: ProjectRead) -> ConversationRead:
    """A conversation of ``project``."""
    return await db.conversations.create({"project_id": project.id, "title": "Kick-off"})


@pytest.fixture
async def repository(db: Database, project: ProjectRead) -> RepositoryRead:
    """A code repository of ``project``."""
    return await db.code_repositories.upsert_from_url(project.id, "https://github.com/acme/atlas")
