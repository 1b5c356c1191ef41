"""A fresh lake per test: its own PostgreSQL database on the worker's server, its own folder."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests._pg import PostgresServer, create_database, pg_server
from tests.integration.lakeguard._lake import Lake, create_schema

__all__ = ["pg_server"]

_NUMBERS = itertools.count()
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def catalog(pg_server: PostgresServer) -> PostgresServer:
    """An empty PostgreSQL database of its own."""
    return await create_database(pg_server, f"lake_{os.getpid()}_{next(_NUMBERS)}")


@pytest.fixture
def lake(catalog: PostgresServer, tmp_path: Path, extension_directory: Path) -> Lake:
    """A DuckLake on ``catalog`` with the test tables, data under ``tmp_path``."""
    made = Lake(catalog.conninfo, str(tmp_path / "data"), str(extension_directory))
    with made.connect() as conn:
        create_schema(conn)
    return made


def seed(lake: Lake, projects: int = 6) -> None:
    """``projects`` projects with slugs ``slug-0``..., two conversations each."""
    with lake.connect() as conn:
        for number in range(projects):
            project = str(uuid.uuid4())
            conn.execute("INSERT INTO projects VALUES (?, ?, 1)", [project, f"slug-{number}"])
            for _ in range(2):
                conn.execute(
                    "INSERT INTO conversations VALUES (?, ?)", [str(uuid.uuid4()), project]
                )


def python(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    """A Python process run from the repository root (so ``-m tests...`` resolves)."""
    return subprocess.Popen([sys.executable, *args], cwd=REPO, **kwargs)  # type: ignore[call-overload]


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no cleanup of any kind runs in the process."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate()  # reaps it and closes its pipes
