"""The whole database as Parquet files in one folder, with a manifest, and back.

Parquet is what moves data to a lake, another machine or another DuckDB version:
:func:`export_parquet` (``db.export_parquet()``, ``project-architect-db export``) writes one
consistent snapshot of every table while writers go on (see ``_export.py``);
:func:`import_parquet` (``Database.import_parquet()``, ``project-architect-db import``) checks
the folder against its manifest and builds a new database file from it (see ``_import.py``).

Examples:
    >>> import project_architect_db as padb
    >>> async def main() -> None:
    ...     async with padb.Database.open("architect.duckdb") as db:
    ...         await db.export_parquet("export-2026-12-07")
    ...     await padb.Database.import_parquet("export-2026-12-07", "copy.duckdb")
    >>> padb.run(main())  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project_architect_db.core._worker import to_thread
from project_architect_db.core.executor import Executor
from project_architect_db.core.settings import Settings
from project_architect_db.maintenance._priority import held_cursor, in_thread
from project_architect_db.maintenance.portable._export import ExportJob, ExportReport
from project_architect_db.maintenance.portable._import import ImportJob, checked_export
from project_architect_db.maintenance.portable._lake import load_into_lake
from project_architect_db.maintenance.portable._manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    ExportManifest,
    TableFile,
    read_export_manifest,
)

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ExportManifest",
    "ExportReport",
    "ImportReport",
    "TableFile",
    "export_parquet",
    "import_into_lake",
    "import_parquet",
    "read_export_manifest",
]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did.

    Attributes:
        database: The database file written, or the lake's catalog string.
        folder: The export it came from.
        manifest: The export's manifest.
        replaced: Where the file it replaced was kept (``None``: there was none).
    """

    database: Path | str
    folder: Path
    manifest: ExportManifest
    replaced: Path | None


async def export_parquet(
    executor: Executor[Any],
    settings: Settings,
    folder: str | os.PathLike[str],
    *,
    library_version: str,
    low_priority: bool = True,
) -> ExportReport:
    """Export the open database into ``folder`` (see :meth:`Database.export_parquet`)."""
    source = ":memory:" if settings.in_memory else settings.database
    async with held_cursor(executor) as connection:
        job = ExportJob(
            connection,
            folder,
            source=source,
            library_version=library_version,
            low_priority=low_priority,
        )
        return await in_thread(job.run, job.interrupt)


async def import_parquet(
    folder: str | os.PathLike[str],
    database: str | os.PathLike[str],
    *,
    overwrite: bool,
    known_revisions: Collection[str],
    upgrade: Callable[[Path], Awaitable[None]],
    memory_limit: str | None = None,
) -> ImportReport:
    """Build ``database`` from the export in ``folder`` (see :meth:`Database.import_parquet`).

    ``upgrade(path)`` migrates the built file to the library's revision before it is renamed
    into place. ``memory_limit`` bounds DuckDB while it builds the file.
    """
    job = ImportJob(
        folder,
        database,
        overwrite=overwrite,
        known_revisions=known_revisions,
        memory_limit=memory_limit,
    )
    manifest: ExportManifest = await to_thread(job.check)
    try:
        await in_thread(lambda: job.build(manifest), job.interrupt)
        await upgrade(job.temp)
        replaced: Path | None = await to_thread(job.publish)
    except BaseException:
        job.discard()
        raise
    return ImportReport(job.database, job.folder, manifest, replaced)


async def import_into_lake(
    executor: Executor[Any], folder: str | os.PathLike[str], *, known_revisions: Collection[str]
) -> ImportReport:
    """Load the export in ``folder`` into the open, empty lake of ``executor``, one transaction.

    Raises:
        StorageError: The export is incomplete or damaged.
        MigrationError: A newer library wrote it, or it is at another revision than the lake.
        AlreadyExistsError: The lake already holds rows.
    """
    source = Path(os.fspath(folder)).expanduser().absolute()  # noqa: ASYNC240 - no I/O
    manifest: ExportManifest = await to_thread(checked_export, source, known_revisions)
    async with executor.transaction() as tx:
        await tx.run_native(lambda duck: load_into_lake(duck, str(source), manifest))
    return ImportReport(executor.settings.database, source, manifest, None)
