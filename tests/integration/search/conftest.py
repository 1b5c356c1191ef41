"""Fixtures for search tests: real DuckDB databases (file and memory) with the schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.models import Base


@pytest.fixture
async def db(target: str, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database (file or memory) with every table."""
    database = await Database.open(target, extension_directory=extension_directory)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.close()
