"""Shared fixtures: real DuckDB databases, one folder per xdist worker, file and memory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from project_architect_db import Database

# The plugin is loaded here rather than through its entry point (disabled in pytest.ini) so that
# coverage is already running when the package is first imported.
pytest_plugins = ["project_architect_db.testing.plugin"]


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


_TESTS_RUN = 0


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Every 50 tests, collect and freeze the heap an xdist worker has built up.

    A worker runs hundreds of tests; the objects they leave alive (compiled-statement caches,
    imported modules, hypothesis state) make every full garbage collection scan more, until one
    costs seconds and tests that allocate a lot (typer rebuilding the CLI per invoke, hypothesis)
    slow to a crawl. Freezing moves what is alive now out of the collector's view; the library's
    own behaviour is unchanged (docs/reliability.md measures the GC pauses).
    """
    global _TESTS_RUN
    _TESTS_RUN += 1
    if _TESTS_RUN % 50 == 0:
        gc.collect()
        gc.freeze()
