"""pytest plugin: fresh project-architect-db databases for every test.

Fixtures:
    padb_db: an open :class:`~project_architect_db.Database` on a fresh DuckDB file.
    padb_memory_db: an open in-memory :class:`~project_architect_db.Database`.
    padb_template: the per-worker template behind ``padb_db`` (session scope).

The fixtures need pytest-asyncio (``pip install 'project-architect-db[testing]'``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from project_architect_db.database import Database
    from project_architect_db.testing.databases import TemplateDatabase

try:
    import pytest_asyncio

    HAS_PYTEST_ASYNCIO = True
except ImportError:  # pragma: no cover - the plugin stays inert without pytest-asyncio
    HAS_PYTEST_ASYNCIO = False


@pytest.fixture(scope="session")
def padb_template(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> TemplateDatabase:
    """One template database per xdist worker, sharing one extension directory."""
    from project_architect_db.testing.databases import TemplateDatabase

    workerinput = getattr(request.config, "workerinput", None)
    worker = "main" if workerinput is None else str(workerinput["workerid"])
    directory = tmp_path_factory.mktemp(f"padb-template-{worker}")
    return TemplateDatabase(directory, extension_directory=directory / "extensions")


if HAS_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def padb_db(padb_template: TemplateDatabase, tmp_path: Path) -> AsyncIterator[Database]:
        """A fresh database on its own DuckDB file, closed after the test."""
        from project_architect_db.testing.databases import open_fresh_database

        db = await open_fresh_database(padb_template, tmp_path / "test.duckdb")
        try:
            yield db
        finally:
            await db.close()

    @pytest_asyncio.fixture
    async def padb_memory_db() -> AsyncIterator[Database]:
        """A fresh in-memory database, closed after the test."""
        from project_architect_db.database import Database

        async with Database.open(":memory:") as db:
            yield db
