"""pytest plugin: fresh project-architect-db databases for every test.

Fixtures:
    padb_db: an open :class:`~project_architect_db.Database` on a fresh DuckDB file.
    padb_memory_db: an open in-memory :class:`~project_architect_db.Database`.
    padb_template: the per-worker template behind ``padb_db`` (session scope).
    padb_postgres: a real PostgreSQL for lake catalogs, one per xdist worker (session scope;
        needs ``pip install 'project-architect-db[lake-server]'``).
    padb_lake: a fresh lake for one test: a new catalog database on ``padb_postgres`` and an
        empty data path (``padb_lake.catalog``, ``padb_lake.data_path``).

The fixtures need pytest-asyncio (``pip install 'project-architect-db[testing]'``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from project_architect_db.database import Database
    from project_architect_db.testing.databases import TemplateDatabase
    from project_architect_db.testing.postgres import LocalPostgres

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


@dataclass(frozen=True, slots=True)
class LakeTarget:
    """Where a test's lake lives: open it with ``Database.open(catalog, data_path=data_path)``."""

    catalog: str
    data_path: Path


@pytest.fixture(scope="session")
def padb_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """A real PostgreSQL for this worker's lake catalogs, stopped at the end of the session.

    A machine where it cannot start fails the test with the reason (never a silent skip).
    """
    from project_architect_db.exceptions import ProjectArchitectDBError
    from project_architect_db.testing.postgres import start_local_postgres, stop_local_postgres

    folder = reachable_folder(tmp_path_factory.mktemp("padb-pg"))
    try:
        server = start_local_postgres(folder / "data")
    except ProjectArchitectDBError as error:
        pytest.fail(f"padb_postgres: {error}")
    try:
        yield server
    finally:
        stop_local_postgres(server)
        if folder.name.startswith("padb-pg-"):
            shutil.rmtree(folder, ignore_errors=True)


def reachable_folder(folder: Path) -> Path:
    """``folder``, or as root a new folder PostgreSQL's OS user ``pgserver`` can enter.

    pytest's temporary folders are private to their user (0700); run as root, PostgreSQL runs
    as ``pgserver`` and could not reach them. The new folder is under the system's temporary
    folder and named ``padb-pg-*``; the caller removes it.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return folder
    made = Path(tempfile.mkdtemp(prefix="padb-pg-"))
    made.chmod(0o711)
    return made


@pytest.fixture
def padb_lake(padb_postgres: LocalPostgres, tmp_path: Path) -> LakeTarget:
    """A fresh, empty lake for one test: its own catalog database and data folder."""
    import uuid

    catalog = padb_postgres.create_database(f"lake_{uuid.uuid4().hex[:16]}")
    return LakeTarget(catalog=catalog.catalog, data_path=tmp_path / "lake-data")


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
