"""``init``, ``db-reset``, ``db-analyze`` and ``db-vacuum``: a database file's life cycle."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from project_architect_db.cli._common import (
    Command,
    DatabaseOption,
    ExitCode,
    JsonOption,
    confirm,
    console,
    fail,
    path_exists,
    print_json,
    refuse_empty_file,
    require_file,
    require_schema,
    run,
)
from project_architect_db.core.settings import is_in_memory, is_lake
from project_architect_db.maintenance import DEFAULT_RETENTION

if TYPE_CHECKING:
    from project_architect_db.maintenance import CompactionReport, LakeMaintenanceReport

__all__ = ["analyze", "init", "register", "reset", "vacuum"]


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def init(database: DatabaseOption = "architect.duckdb") -> None:
    """Create the database file with the latest schema (does nothing when it is current).

    Example: project-architect-db init --database architect.duckdb
    """
    from project_architect_db import Database

    if is_in_memory(database):
        fail("init needs a file path; :memory: vanishes when the command ends", ExitCode.USAGE)

    async def main() -> str | None:
        from project_architect_db.migration import MigrationManager

        async with Database.open(database) as db:
            return await MigrationManager(db.engine).current()

    existed = path_exists(database)
    file = Path(database).expanduser()
    if existed and file.is_file() and file.stat().st_size == 0:
        # a `touch`-ed file holds nothing, and DuckDB refuses a 0-byte file: make it a database
        file.unlink()
        existed = False
    revision = run(main)
    verb = "checked" if existed else "created"
    console().print(f"{verb} [bold]{database}[/] (schema revision [green]{revision}[/])")


def reset(
    database: DatabaseOption = "architect.duckdb",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every row and recreate the schema (asks first unless --yes).

    Example: project-architect-db db-reset --database architect.duckdb --yes
    """
    require_file(database)
    confirm(f"Delete ALL data in {database}?", yes)

    async def main() -> None:
        from sqlalchemy import text

        from project_architect_db.cli._common import migration_engine
        from project_architect_db.cli._seed_progress import TABLE
        from project_architect_db.migration import MigrationManager

        async with migration_engine(database) as engine:
            manager = MigrationManager(engine)
            await manager.downgrade("base")
            await manager.upgrade("head")
            async with engine.begin() as connection:  # a seed stopped midway: nothing is left
                await connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))

    run(main)
    console().print(f"[bold]{database}[/] reset: empty tables at the latest schema")


async def _analyze(database: str) -> dict[str, Any]:
    from project_architect_db import Database

    await require_schema(database)
    async with (
        Database.open(database, read_only=True, load_fts=False) as db,
        db.transaction() as tx,
    ):

        def collect(duck: Any) -> dict[str, Any]:
            tables = duck.execute(
                "SELECT table_name, estimated_size, column_count, index_count "
                "FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
            ).fetchall()
            result: dict[str, Any] = {"tables": []}
            for name, _estimate, columns, indexes in tables:
                rows = duck.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                storage = duck.execute(
                    "SELECT column_name, count(*) AS segments, "
                    "string_agg(DISTINCT compression, ',') AS compression "
                    "FROM pragma_storage_info(?) GROUP BY column_name ORDER BY column_name",
                    [name],
                ).fetchall()
                result["tables"].append(
                    {
                        "table": name,
                        "rows": rows,
                        "columns": columns,
                        "indexes": indexes,
                        "storage": [
                            {"column": c, "segments": s, "compression": comp}
                            for c, s, comp in storage
                        ],
                    }
                )
            result["indexes"] = [
                {"index": i, "table": t, "unique": u}
                for i, t, u in duck.execute(
                    "SELECT index_name, table_name, is_unique FROM duckdb_indexes() "
                    "ORDER BY table_name, index_name"
                ).fetchall()
            ]
            (used, total, block, wal), *_ = duck.execute(
                "SELECT used_blocks, total_blocks, block_size, wal_size FROM pragma_database_size()"
            ).fetchall() or [(0, 0, 0, "0")]
            result["blocks"] = {"used": used, "total": total, "block_size": block}
            result["wal_reported"] = wal
            return result

        report = await tx.run_native(collect)
    report["database"] = database
    report["file_bytes"] = _size(database)
    report["wal_bytes"] = _size(f"{database}.wal")
    return report


def analyze(database: DatabaseOption = "architect.duckdb", as_json: JsonOption = False) -> None:
    """Tables, row counts, indexes, file and WAL size, storage per column.

    Example: project-architect-db db-analyze --database architect.duckdb --json
    """
    require_file(database)
    refuse_empty_file(database)
    report = run(lambda: _analyze(database))
    if as_json:
        print_json(report)
        return
    from rich.table import Table

    out = console()
    out.print(
        f"[bold]{database}[/]: {report['file_bytes']:,} bytes, WAL {report['wal_bytes']:,} bytes"
    )
    tables = Table("table", "rows", "columns", "indexes", "compression by column", title="Tables")
    for item in report["tables"]:
        compression = ", ".join(
            f"{s['column']}={s['compression']}" for s in item["storage"][:6]
        ) + (" ..." if len(item["storage"]) > 6 else "")
        tables.add_row(
            item["table"],
            f"{item['rows']:,}",
            str(item["columns"]),
            str(item["indexes"]),
            compression,
        )
    out.print(tables)
    indexes = Table("index", "table", "unique", title="Indexes")
    for index in report["indexes"]:
        indexes.add_row(index["index"], index["table"], "yes" if index["unique"] else "")
    out.print(indexes)


def vacuum(
    database: DatabaseOption = "architect.duckdb",
    as_json: JsonOption = False,
    older_than: Annotated[
        float,
        typer.Option(
            "--older-than",
            help="On a lake: days of snapshots (time travel) and replaced files to keep.",
            min=0.0,
        ),
    ] = DEFAULT_RETENTION.days,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="On a lake: say what would be done, change nothing.")
    ] = False,
) -> None:
    """Compact the file: rewrite it without free blocks, so deleted data gives space back.

    The copy is written beside the file, verified (tables, rows, indexes, schema revision) and
    swapped in atomically: an interruption leaves the original as it was. Needs the file closed
    by every other process and free space for one copy. On a lake: DuckLake's flush of inlined
    rows, merge of small files, expiry of snapshots older than --older-than days and deletion
    of the files nothing needs any more; other processes may keep working.

    Example: project-architect-db db-vacuum --database architect.duckdb
    """
    if is_lake(database):
        _vacuum_lake(database, as_json, timedelta(days=older_than), dry_run)
        return
    if dry_run:
        fail("--dry-run is for a lake; a file's compaction is all or nothing", ExitCode.USAGE)
    require_file(database)
    refuse_empty_file(database)

    async def main() -> CompactionReport:
        from project_architect_db.maintenance import compact

        await require_schema(database, any_revision=True)
        return await compact(database)

    report = run(main)
    before, after, reclaimed = report.bytes_before, report.bytes_after, report.bytes_reclaimed
    if as_json:
        print_json(
            {
                "database": database,
                "bytes_before": before,
                "bytes_after": after,
                "bytes_reclaimed": reclaimed,
                "revision": report.revision,
                "rows": dict(report.rows),
            }
        )
        return
    console().print(
        f"[bold]{database}[/]: {before:,} -> {after:,} bytes ({reclaimed:,} bytes reclaimed)"
    )


def _vacuum_lake(database: str, as_json: bool, older_than: timedelta, dry_run: bool) -> None:
    from project_architect_db import Database

    if older_than <= timedelta(0):
        fail("--older-than must be more than 0 days", ExitCode.USAGE)

    async def main() -> LakeMaintenanceReport:
        async with Database.open(database) as db:
            return await db.maintain_lake(older_than=older_than, dry_run=dry_run)

    report = run(main)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would" if dry_run else "did"
    merged = sum(m.files_processed for m in report.merged)
    console().print(
        f"[bold]lake[/] ({verb}, cut-off {report.cutoff:%Y-%m-%d %H:%M} UTC): "
        f"flush {len(report.flushed)} table(s), merge {merged} file(s) of "
        f"{len(report.merged)} table(s), expire {len(report.expired_snapshots)} snapshot(s), "
        f"delete {len(report.deleted_files)} old and {len(report.orphaned_files)} orphaned file(s)"
    )


def register(app: typer.Typer) -> None:
    """Attach these commands to ``app``."""
    app.command("init", cls=Command)(init)
    app.command("db-reset", cls=Command)(reset)
    app.command("db-analyze", cls=Command)(analyze)
    app.command("db-vacuum", cls=Command)(vacuum)
