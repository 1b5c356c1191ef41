"""DuckDB extensions installed from their PyPI wheels, never from the network.

``INSTALL fts`` downloads from DuckDB's servers, which many users cannot reach. The
``duckdb-extension-fts`` wheel ships the binary for exactly our DuckDB release; it is installed
(copied) once into a local ``extension_directory`` and loaded from there.
"""

from __future__ import annotations

import importlib
import importlib.resources
import os
from pathlib import Path

import duckdb

from project_architect_db.core.settings import is_in_memory
from project_architect_db.exceptions import ExtensionError

__all__ = ["default_extension_directory", "install_extension", "wheel_extension_path"]


def wheel_extension_path(name: str) -> Path:
    """The extension binary shipped by the ``duckdb-extension-<name>`` wheel."""
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as error:
        raise ExtensionError(
            f"The DuckDB extension {name!r} is not installed: pip install "
            f"'duckdb-extension-{name}=={duckdb.__version__}'."
        ) from error
    path = (
        Path(str(importlib.resources.files(module)))
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )
    if not path.is_file():
        raise ExtensionError(
            f"The wheel duckdb-extension-{name} has no build for DuckDB {duckdb.__version__} "
            f"(looked for {path}); install the version matching duckdb=={duckdb.__version__}."
        )
    return path


def default_extension_directory(database: str) -> Path:
    """``.padb/extensions`` beside a database file; a user cache folder for ``:memory:``."""
    if is_in_memory(database):
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "project-architect-db" / "extensions"
    return Path(database).expanduser().resolve().parent / ".padb" / "extensions"


def install_extension(name: str, directory: Path) -> None:
    """Install ``name`` from its wheel into ``directory`` unless it is there already (blocking)."""
    target = directory / f"v{duckdb.__version__}"
    if any(target.glob(f"*/{name}.duckdb_extension")):
        return
    source = wheel_extension_path(name)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(":memory:", config={"extension_directory": str(directory)}) as conn:
            conn.execute(f"INSTALL '{source}'")
    except (OSError, duckdb.Error) as error:
        raise ExtensionError(
            f"Could not install the DuckDB extension {name!r} into {directory}: {error}. "
            "Set extension_directory (PADB_EXTENSION_DIRECTORY) to a writable folder."
        ) from error
