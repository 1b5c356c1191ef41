"""Lake fixtures: a real PostgreSQL per worker (tests/_pg.py), a fresh catalog database per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from project_architect_db import Database
from tests._pg import PostgresServer, create_database, pg_server

__all__ = ["Lake", "lake", "lake_database", "pg_server"]

_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Lake:
    """A fresh, empty lake: its catalog string and data folder."""

    server: PostgresServer
    catalog: str
    data_path: str

    def open(self, **options: object) -> Database:
        """``Database.open`` on this lake (extra options passed on)."""
        return Database.open(self.catalog, data_path=self.data_path, **options)  # type: ignore[arg-type]


@pytest.fixture
async def lake(pg_server: PostgresServer, tmp_path: Path) -> Lake:
    """An empty lake: a new PostgreSQL database as its catalog, a new folder for its data."""
    name = f"lakeopen_{os.getpid()}_{next(_numbers)}"  # lakeguard names its own lake_...
    server = await create_database(pg_server, name)
    return Lake(server, f"ducklake:postgres:{server.conninfo}", str(tmp_path / "lake-data"))


@pytest.fixture
async def lake_database(lake: Lake, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database on a fresh lake, migrated to head."""
    async with lake.open(extension_directory=extension_directory) as db:
        yield db
