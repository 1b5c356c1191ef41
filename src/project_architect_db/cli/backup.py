"""``backup`` and ``restore``: verified online copies of a database file, and putting one back."""

from __future__ import annotations

from pathlib import Path
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
    from project_architect_db.maintenance.backup import BackupReport, RestoreReport

__all__ = ["backup", "register", "restore"]


def backup(
    dest: Annotated[
        str | None,
        typer.Argument(
            help="A folder (the file is named <stem>-<UTC time>.duckdb) or a file ending in "
            ".duckdb; default <database>.backups beside the file.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = "architect.duckdb",
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Keep only the newest N backups in the folder."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write a verified copy of the database (a manifest beside it), writers may go on.

    The copy is one consistent snapshot, checked (rows, schema revision, invariants) before it
    is renamed into place. A running application backs up with ``await db.backup()``: another
    process holding the file makes this command exit with the locked code.

    Example: project-architect-db backup backups/ --database architect.duckdb --keep 7
    """
    require_file(database)
    refuse_empty_file(database)

    async def main() -> BackupReport:
        from project_architect_db import Database

        async with Database.open(database, load_fts=False) as db:
            return await db.backup(dest, keep=keep, low_priority=False)

    report = run(main)
    if as_json:
        print_json(
            {
                "backup": str(report.path),
                "manifest": str(report.path) + ".manifest.json",
                "removed": [str(path) for path in report.removed],
                "seconds": round(report.seconds, 3),
                "revision": report.manifest.revision,
                "rows": report.manifest.rows,
                "sha256": report.manifest.sha256,
            }
        )
        return
    rows = sum(report.manifest.rows.values())
    console().print(
        f"backed up [bold]{database}[/] to [bold]{report.path}[/] ({rows:,} rows, "
        f"{report.manifest.size:,} bytes, {report.seconds:.1f} s)"
    )
    for path in report.removed:
        console().print(f"removed the older backup {path}")


async def _known_revisions() -> set[str]:
    from project_architect_db.cli._common import migration_engine
    from project_architect_db.migration import MigrationManager

    async with migration_engine(":memory:") as engine:
        script = MigrationManager(engine).script_directory()
        return {revision.revision for revision in script.walk_revisions()}


def restore(
    backup_file: Annotated[
        str, typer.Argument(metavar="BACKUP", help="The backup file (its manifest beside it).")
    ],
    database: DatabaseOption = "architect.duckdb",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Replace an existing database file.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check a backup against its manifest and put it in place of the database file.

    An existing file is replaced only with --yes; it is kept as <file>.replaced-<time> (with its
    WAL): it may hold transactions newer than the backup. Delete it once satisfied.

    Example: project-architect-db restore backups/architect-20261207T120000000000Z.duckdb
    --database architect.duckdb --yes
    """

    async def main() -> RestoreReport:
        from project_architect_db import __version__
        from project_architect_db.maintenance.backup import restore as restore_backup

        return await restore_backup(
            backup_file,
            database,
            overwrite=yes,
            library_version=__version__,
            known_revisions=await _known_revisions(),
        )

    report = run(main)
    if as_json:
        print_json(
            {
                "database": str(report.database),
                "backup": str(report.backup),
                "replaced": None if report.replaced is None else str(report.replaced),
                "revision": report.manifest.revision,
                "rows": report.manifest.rows,
            }
        )
        return
    out = console()
    out.print(f"restored [bold]{report.database}[/] from {report.backup}")
    if report.replaced is not None:
        out.print(f"the replaced file is kept as {Path(report.replaced)}: delete it when done")


def register(app: typer.Typer) -> None:
    """Attach these commands to ``app``."""
    app.command("backup", cls=Command)(backup)
    app.command("restore", cls=Command)(restore)
