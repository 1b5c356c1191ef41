"""``project-architect-db demo``: the whole library in one run, in about half a minute.

Creates (or uses) a database file, migrates it, seeds realistic data with a progress bar, then
prints analytics answers and full-text search results as tables.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from project_architect_db.cli._common import ExitCode, console, fail, run
from project_architect_db.cli.seed import Preset, _sizes, seed_database

__all__ = ["demo"]

_SEARCHES = ("authentication tokens", "database migration", "deployment rollback")


def _table(title: str, rows: list[dict[str, Any]], limit: int = 8) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    if not rows:
        table.add_column("(no rows)")
        return table
    # ids are noise on a terminal: show names, numbers and text
    columns = [c for c in rows[0] if c != "id" and not c.endswith("_id")] or list(rows[0])
    for column in columns:
        table.add_column(column, overflow="fold", max_width=48)
    for row in rows[:limit]:
        table.add_row(*(_cell(row[column]) for column in columns))
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


async def _rows(query: Any, limit: int = 8) -> list[dict[str, Any]]:
    table = await query.to_arrow()
    return list(table.slice(0, limit).to_pylist())


def demo(
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            "-d",
            help="Where to build the demo database (default: a new temporary file).",
        ),
    ] = None,
    preset: Annotated[Preset, typer.Option(help="How much data to seed.")] = Preset.SMALL,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.", min=0)] = 42,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the file at --database if it exists.")
    ] = False,
) -> None:
    """Create, migrate and seed a database, then show analytics and search results.

    Example: project-architect-db demo --preset medium
    """
    from project_architect_db import Database
    from project_architect_db.testing.factories import generate_dataset

    out = console()
    if database is None:
        database = Path(tempfile.mkdtemp(prefix="padb-demo-")) / "demo.duckdb"
    elif database.exists():
        if not overwrite:
            fail(
                f"{database} already exists: the demo builds a new database, so pass "
                "--overwrite to replace it or choose another path",
                ExitCode.USAGE,
            )
        database.unlink()
        Path(f"{database}.wal").unlink(missing_ok=True)

    async def main() -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        started = time.perf_counter()
        out.rule("[bold]project-architect-db demo")
        async with Database.open(database) as db:
            out.print(f"1. created and migrated [bold]{database}[/]")
            dataset = generate_dataset(seed_value, **_sizes(preset))
            counts = dataset.row_counts()
            with Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=out,
                auto_refresh=out.is_terminal,  # no refresh thread where nobody watches
            ) as progress:
                task = progress.add_task("seeding", total=sum(counts.values()))
                loading = time.perf_counter()
                await seed_database(db, dataset, progress, task)
                seconds = time.perf_counter() - loading
            total = sum(counts.values())
            out.print(
                f"2. seeded {total:,} rows ({preset.value}, seed {seed_value}) in {seconds:.2f} s "
                f"({total / seconds:,.0f} rows/s): "
                + ", ".join(f"{name} {count:,}" for name, count in counts.items())
            )
            analytics = db.analytics
            out.print("3. analytics")
            out.print(_table("Project portfolio", await _rows(analytics.portfolio())))
            out.print(
                _table("Messages per week by role", await _rows(analytics.message_activity("week")))
            )
            out.print(_table("CI/CD health (DORA)", await _rows(analytics.dora())))
            out.print(_table("Largest documents", await _rows(analytics.largest_documents(5)), 5))
            out.print(_table("Most active projects", await _rows(analytics.most_active_projects())))
            out.print("4. full-text search (BM25)")
            for text in _SEARCHES:
                hits = await db.search.documents(text, limit=3)
                out.print(
                    _table(
                        f"documents matching {text!r}",
                        [
                            {"score": hit.score, "path": hit.path, "snippet": hit.snippet}
                            for hit in hits
                        ],
                        3,
                    )
                )
            replies = await db.search.messages("schema design", limit=3)
            out.print(
                _table(
                    "messages matching 'schema design'",
                    [
                        {"score": hit.score, "role": hit.role, "snippet": hit.snippet}
                        for hit in replies
                    ],
                    3,
                )
            )
        out.rule(f"done in {time.perf_counter() - started:.1f} s: {database}")

    run(main)
