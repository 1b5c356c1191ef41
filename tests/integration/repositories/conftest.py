"""Fixtures for repository tests: real DuckDB databases with the schema in place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.models import Base


async def open_with_schema(target: str | Path, extension_directory: Path) -> Database:
    """Open a database and make sure every table exists."""
    db = await Database.open(target, extension_directory=extension_directory)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture
async def db(target: str, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database (file or memory) with the schema."""
    database = await open_with_schema(target, extension_directory)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def file_db(tmp_path: Path, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database on a file, with the schema."""
    database = await open_with_schema(tmp_path / "repo.duckdb", extension_directory)
    try:
        yield database
    finally:
        await database.close()
