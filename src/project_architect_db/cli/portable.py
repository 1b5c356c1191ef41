"""``export`` and ``import``: the whole database as Parquet files in a folder, and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from project_architect_db.cli._common import (
    Command,
    DatabaseOption,
    JsonOption,
    console,
    print_json,
    refuse_empty_file,
    require_file,
    run,
)

if TYPE_CHECKING:
    from project_architect_db.maintenance.portable import ExportReport, ImportReport

__all__ = ["export", "import_", "register"]

FolderArgument = Annotated[
    str, typer.Argument(metavar="FOLDER", help="The export folder (manifest.json inside).")
]


def export(
    folder: FolderArgument,
    database: DatabaseOption = "architect.duckdb",
    as_json: JsonOption = False,
) -> None:
    """Export every table to Parquet in a new FOLDER, one consistent snapshot, with a manifest.

    The manifest holds the format version, library, DuckDB and schema versions, the schema's
    DDL, and per table its rows and SHA-256. The folder appears only once complete. A running
    application exports with ``await db.export_parquet(folder)``.

    Example: project-architect-db export exports/2026-12-07 --database architect.duckdb
    """
    require_file(database)
    refuse_empty_file(database)

    async def main() -> ExportReport:
        from project_architect_db import Database

        async with Database.open(database, load_fts=False) as db:
            return await db.export_parquet(folder, low_priority=False)

    report = run(main)
    manifest = report.manifest
    if as_json:
        print_json(
            {
                "folder": str(report.folder),
                "revision": manifest.revision,
                "rows": manifest.rows,
                "bytes": sum(entry.size for entry in manifest.tables),
                "seconds": round(report.seconds, 3),
            }
        )
        return
    console().print(
        f"exported [bold]{database}[/] to [bold]{report.folder}[/] ({len(manifest.tables)} "
        f"tables, {sum(manifest.rows.values()):,} rows, revision {manifest.revision}, "
        f"{report.seconds:.1f} s)"
    )


def import_(
    folder: FolderArgument,
    database: DatabaseOption = "architect.duckdb",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Replace an existing database file.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Build the database file from an export FOLDER, checked against its manifest.

    Every file's SHA-256 and rows are checked; an export from an older schema revision is
    migrated up, one from a newer library is refused. An existing file is replaced only with
    --yes and kept as <file>.replaced-<time>.

    Example: project-architect-db import exports/2026-12-07 --database copy.duckdb
    """

    async def main() -> ImportReport:
        from project_architect_db import Database

        return await Database.import_parquet(folder, database, overwrite=yes)

    report = run(main)
    replaced = None if report.replaced is None else str(report.replaced)
    if as_json:
        print_json(
            {
                "database": str(report.database),
                "folder": str(report.folder),
                "revision": report.manifest.revision,
                "rows": report.manifest.rows,
                "replaced": replaced,
            }
        )
        return
    out = console()
    rows = sum(report.manifest.rows.values())
    out.print(f"imported [bold]{report.folder}[/] into [bold]{report.database}[/] ({rows:,} rows)")
    if replaced is not None:
        out.print(f"the replaced file is kept as {replaced}: delete it when done")


def register(app: typer.Typer) -> None:
    """Attach these commands to ``app``."""
    app.command("export", cls=Command)(export)
    app.command("import", cls=Command)(import_)
