"""The database the backup and export tests copy: a real file per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database


@pytest.fixture
async def db(tmp_path: Path, extension_directory: Path) -> Any:
    async with Database.open(
        tmp_path / "src.duckdb", extension_directory=extension_directory, load_fts=False
    ) as database:
        yield database
