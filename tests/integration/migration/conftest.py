"""Fixtures for the migration tests: engines on real DuckDB files and :memory:, and temporary
revision folders (so no test writes into the package)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core.engine import create_engine
from project_architect_db.core.settings import Settings
from tests.integration.migration.helpers import (
    FAILING_0004,
    REVISION_0004,
    EngineFactory,
    dispose,
    write_versions,
)


@pytest.fixture
def versions_0004(tmp_path: Path) -> Path:
    """A revision folder holding the package's revisions plus the test revision 0004."""
    return write_versions(tmp_path / "versions", ("20261208_0004_archive_reason.py", REVISION_0004))


@pytest.fixture
def failing_versions(tmp_path: Path) -> Path:
    """A revision folder whose 0004 fails halfway."""
    return write_versions(tmp_path / "failing", ("20261208_0004_fails.py", FAILING_0004))


@pytest.fixture
async def make_engine() -> AsyncIterator[EngineFactory]:
    """Build async engines of the library's driver; all are disposed after the test."""
    engines: list[AsyncEngine] = []

    def build(database: str | Path, *, read_only: bool = False) -> AsyncEngine:
        engine = create_engine(
            Settings(database=str(database), read_only=read_only, load_fts=False)
        )
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        await dispose(engine)


@pytest.fixture
def engine(make_engine: EngineFactory, target: str) -> AsyncEngine:
    """An engine on an empty database: a fresh file or :memory:."""
    return make_engine(target)
