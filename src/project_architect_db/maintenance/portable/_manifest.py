"""The manifest of a Parquet export (``manifest.json``), and the checks an import makes first.

An export folder holds one Parquet file per table and ``manifest.json``: the format version,
the versions of the library and of DuckDB that wrote it, the schema revision, the schema itself
(DuckDB's own DDL, so an import rebuilds exactly the tables, indexes, sequences and views of the
source, whatever its revision), and per table the file, its rows and its SHA-256.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import MigrationError, StorageError
from project_architect_db.maintenance.backup._manifest import sha256_of

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ExportManifest",
    "SchemaDDL",
    "TableFile",
    "check_files",
    "check_revision",
    "read_export_manifest",
]

#: What ``manifest.json`` says it is, and the version of its layout this library reads.
FORMAT = "project-architect-db/parquet"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True, slots=True)
class TableFile:
    """One table of an export: its Parquet file, rows and SHA-256."""

    table: str
    file: str
    rows: int
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class SchemaDDL:
    """The schema of the source in DuckDB's own DDL, replayed in this order by an import."""

    schemas: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExportManifest:
    """What an export folder holds (``manifest.json``).

    Attributes:
        source: The database exported.
        revision: Its schema revision (``alembic_version``), ``None`` for a file without one.
        library_version: The version of project-architect-db that wrote it.
        duckdb_version: The DuckDB version that wrote it.
        snapshot_at: When the snapshot was taken (UTC, ISO 8601).
        tables: Every table exported, in load order.
        schema: The DDL an import replays.
        format: :data:`FORMAT`.
        format_version: :data:`FORMAT_VERSION` of the library that wrote it.
    """

    source: str
    revision: str | None
    library_version: str
    duckdb_version: str
    snapshot_at: str
    tables: list[TableFile] = field(default_factory=list)
    schema: SchemaDDL = field(default_factory=SchemaDDL)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def rows(self) -> dict[str, int]:
        """Rows per table (``schema.table``)."""
        return {entry.table: entry.rows for entry in self.tables}

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def _parse(data: dict[str, Any]) -> ExportManifest:
    tables = [TableFile(**entry) for entry in data.pop("tables")]
    schema = SchemaDDL(**data.pop("schema"))
    return ExportManifest(tables=tables, schema=schema, **data)


def read_export_manifest(folder: Path) -> ExportManifest:
    """The manifest of the export in ``folder``, refused unless this library can import it.

    Raises:
        StorageError: No export there, or its manifest cannot be read.
        MigrationError: A newer library wrote it (another format version).
    """
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise StorageError(f"There is no export folder {folder}: check the path.")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise StorageError(
            f"{folder} has no {MANIFEST_NAME}: it is not a complete export (an export writes "
            "its manifest last). Export the database again."
        ) from error
    except (OSError, ValueError) as error:
        raise StorageError(f"The manifest {path} cannot be read ({error}).") from error
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(version, int):
        raise StorageError(f"{path} is not a project-architect-db export manifest.")
    if version > FORMAT_VERSION:
        raise MigrationError(
            f"{folder} was exported in format version {version} by project-architect-db "
            f"{data.get('library_version')}; this version reads format {FORMAT_VERSION}: "
            "upgrade project-architect-db, then import it."
        )
    try:
        return _parse(data)
    except (KeyError, TypeError) as error:
        raise StorageError(f"The manifest {path} is incomplete ({error}).") from error


def check_revision(manifest: ExportManifest, folder: Path, known: Collection[str]) -> None:
    """Refuse an export at a schema revision this library does not know (a newer one).

    Raises:
        MigrationError: The revision is unknown: upgrade the library.
    """
    if manifest.revision is not None and manifest.revision not in known:
        raise MigrationError(
            f"{folder} is at schema revision {manifest.revision}, written by "
            f"project-architect-db {manifest.library_version}, which this version does not "
            "know: upgrade project-architect-db, then import it."
        )


def check_files(folder: Path, manifest: ExportManifest) -> None:
    """Check every table's file: present, its size and SHA-256 as in the manifest.

    Raises:
        StorageError: A file is missing or was changed after the export.
    """
    for entry in manifest.tables:
        path = folder / entry.file
        if Path(entry.file).name != entry.file or not path.is_file():
            raise StorageError(
                f"The export {folder} lacks {entry.file} (table {entry.table}): the folder is "
                "incomplete. Copy the whole folder again, or export again."
            )
        if os.path.getsize(path) != entry.size or sha256_of(path) != entry.sha256:
            raise StorageError(
                f"{path} does not match the manifest (size or SHA-256 differs): it was changed "
                "or damaged after the export. Copy it again, or export again."
            )
