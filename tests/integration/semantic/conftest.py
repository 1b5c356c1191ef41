"""Fixtures of the semantic search tests: real databases with a deterministic embedder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from tests.integration.semantic._embedders import Words


@pytest.fixture
def words() -> Words:
    return Words()


@pytest.fixture
async def db(target: str, extension_directory: Path, words: Words) -> AsyncIterator[Database]:
    """An open database (file or memory) embedding with ``words``."""
    async with Database.open(target, extension_directory=extension_directory, embedder=words) as d:
        yield d


async def project_with(db: Database, **texts: Any) -> Any:
    """A project, a conversation and, per keyword, a document ``<name>.md`` of that text."""
    project = await db.projects.create({"name": f"Atlas {uuid.uuid4().hex[:8]}"})
    for name, content in texts.items():
        await db.documents.create(
            {"project_id": project.id, "path": f"{name}.md", "title": name, "content": content}
        )
    return project
