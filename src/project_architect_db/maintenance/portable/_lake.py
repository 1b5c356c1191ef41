"""Importing a Parquet export into an open, empty lake (``Database.open("ducklake:...")``).

A lake has no indexes, constraints or sequences to rebuild and its schema is the library's at
the revision it was opened at, so the rows go straight in: one lake transaction, every table
``INSERT ... BY NAME`` from its file, then the counts checked against the manifest. Only an
export at the lake's own revision is taken: an older one is migrated through a file first (its
data migrations run on DuckDB files), which the refusal says.
"""

from __future__ import annotations

from typing import Any

from project_architect_db.exceptions import AlreadyExistsError, MigrationError, StorageError
from project_architect_db.maintenance.backup._take import _identifier, _literal
from project_architect_db.maintenance.portable._manifest import ExportManifest

__all__ = ["load_into_lake"]

_VERSIONS = "main.alembic_version"


def load_into_lake(connection: Any, folder: str, manifest: ExportManifest) -> None:
    """Insert every table's rows into the lake ``connection`` is in (the caller commits).

    Raises:
        MigrationError: The export is at another schema revision, or has tables the lake lacks.
        AlreadyExistsError: A table of the lake already holds rows.
        StorageError: The rows read differ from the manifest.
    """
    name = connection.execute("SELECT current_database()").fetchone()[0]
    (revision,) = connection.execute(
        f"SELECT min(version_num) FROM {_identifier(name)}.main.alembic_version"
    ).fetchone()
    if manifest.revision != revision:
        raise MigrationError(
            f"{folder} is at schema revision {manifest.revision}, the lake at {revision}: "
            "import it into a file first (project-architect-db import FOLDER --database "
            "FILE.duckdb migrates it), export that file, and import the new export."
        )
    lake_tables = {
        f"{schema}.{table}"
        for schema, table in connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [name]
        ).fetchall()
    }
    missing = sorted(set(manifest.rows) - lake_tables)
    if missing:
        raise MigrationError(
            f"The lake has no table for {', '.join(missing)} of {folder}: a lake holds the "
            "library's tables only."
        )
    for entry in manifest.tables:
        if entry.table == _VERSIONS:
            continue
        schema, table = entry.table.split(".", 1)
        target = f"{_identifier(name)}.{_identifier(schema)}.{_identifier(table)}"
        (rows,) = connection.execute(f"SELECT count(*) FROM {target}").fetchone()
        if rows:
            raise AlreadyExistsError(
                f"The lake's table {entry.table} already holds {rows} rows: an import fills "
                "an empty lake only (nothing was imported)."
            )
        (loaded,) = connection.execute(
            f"INSERT INTO {target} BY NAME SELECT * FROM "
            f"read_parquet({_literal(f'{folder}/{entry.file}')})"
        ).fetchone()
        if int(loaded) != entry.rows:
            raise StorageError(
                f"{entry.file} gave {loaded} rows, its manifest says {entry.rows}: export "
                "again (nothing was imported)."
            )
