"""Shared fixtures: real DuckDB databases, one folder per xdist worker, file and memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from project_architect_db import Database

# The plugin is loaded here rather than through its entry point (disabled in pytest.ini) so that
# coverage is already running when the package is first imported.
pytest_plugins = ["project_architect_db.testing.plugin", "tests._crash_evidence"]


@pytest.fixture(scope="session")
def extension_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DuckDB extension folder per worker (installing fts from its wheel once)."""
    return tmp_path_factory.mktemp("extensions")


@pytest.fixture(params=["file", "memory"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database target: a fresh DuckDB file, or ':memory:'."""
    return str(tmp_path / "test.duckdb") if request.param == "file" else ":memory:"


@pytest.fixture
async def database(target: str, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database on the parametrised target."""
    async with Database.open(target, extension_directory=extension_directory) as db:
        yield db


@pytest.fixture
async def file_database(tmp_path: Path, extension_directory: Path) -> AsyncIterator[Database]:
    """An open database on a fresh DuckDB file."""
    async with Database.open(
        tmp_path / "test.duckdb", extension_directory=extension_directory
    ) as db:
        yield db


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect ``@pytest.mark.slow`` tests unless the run selects markers itself (``-m slow``)."""
    if config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
