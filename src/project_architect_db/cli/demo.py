"""``project-architect-db demo``: the whole library in one run, in about half a minute.

Creates (or uses) a database file, migrates it, seeds realistic data with a progress bar, then
prints analytics answers and full-text search results as tables, and a question that BM25
misses and hybrid search finds (with the ``[embeddings]`` extra; without it, how to add it).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from project_architect_db.cli._common import ExitCode, console, fail, run
from project_architect_db.cli.seed import Preset, _sizes, seed_database

__all__ = ["demo"]

# Each of these finds matches in every generated dataset, the smallest preset included: the
# generator's README, architecture documents and chat messages are written about them.
_SEARCHES = ("authentication tokens", "database migration", "deployment rollback")
_MESSAGE_SEARCH = "schema design"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _table(
    title: str,
    rows: list[dict[str, Any]],
    limit: int = 8,
    columns: dict[str, str] | None = None,
) -> Any:
    """A Rich table of ``rows`` (at most ``limit``); every value is data, never markup.

    ``columns`` maps the keys to show to their headings (default: every key but ids).
    """
    from rich.table import Table
    from rich.text import Text

    from project_architect_db.cli._render import cell, duration, percent, plain

    def render(column: str, value: Any) -> Text:
        if isinstance(value, Text):  # already rendered (a highlighted snippet)
            return value
        if column.endswith("_seconds"):
            return duration(value)
        return percent(value) if column.endswith("_rate") else cell(value)

    table = Table(title=Text(title), title_justify="left", show_lines=False)
    if not rows:
        table.add_column("(no rows)")
        return table
    if columns is None:  # ids are noise on a terminal: show names, numbers and text
        keys = [c for c in rows[0] if c != "id" and not c.endswith("_id")] or list(rows[0])
        columns = {key: key.replace("_", " ") for key in keys}
    shown = rows[:limit]
    for key, heading in columns.items():
        # numbers and instants stay on one line, right-aligned; text takes the width left
        text = any(isinstance(row[key], str | Text) for row in shown)
        table.add_column(
            plain(heading),
            justify="left" if text else "right",
            no_wrap=not text,
            overflow="fold",
            max_width=48,
            min_width=len(heading),
        )
    for row in shown:
        table.add_row(*(render(key, row[key]) for key in columns))
    return table


async def _rows(query: Any, limit: int = 8, *, latest: bool = False) -> list[dict[str, Any]]:
    """The first ``limit`` rows of ``query`` (its last ``limit`` when ``latest``)."""
    rows: list[dict[str, Any]] = await query.rows()
    return rows[-limit:] if latest else rows[:limit]


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
    from project_architect_db.datagen import generate_dataset

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
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from project_architect_db.cli._demo_semantic import show_semantic_search
        from project_architect_db.cli._render import SNIPPET_MARKERS, highlighted

        started = time.perf_counter()
        out.rule("[bold]project-architect-db demo")
        # the seeded rows are not embedded: the semantic step has a small database of its own
        async with Database.open(database, embedder=False) as db:
            out.print(f"1. created and migrated [bold]{escape(str(database))}[/]")
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
                f"2. seeded {total:,} rows ({preset.value}, seed {seed_value}, activity up to "
                f"{dataset.now:%Y-%m-%d} 00:00 UTC) in {seconds:.2f} s "
                f"({total / seconds:,.0f} rows/s): "
                + ", ".join(f"{name} {count:,}" for name, count in counts.items())
            )
            analytics = db.analytics
            out.print("3. analytics")
            out.print(_table("Project portfolio", await _rows(analytics.portfolio())))
            out.print(
                _table(
                    "Project health, most recently active first",
                    sorted(
                        await analytics.project_health(limit=None).rows(),
                        key=lambda row: row["last_message_at"] or _EPOCH,
                        reverse=True,
                    ),
                    columns={
                        "name": "project",
                        "status": "status",
                        "messages": "messages",
                        "last_message_at": "last message",
                        "build_success_rate": "green builds",
                        "deployments": "deploys",
                    },
                )
            )
            out.print(
                _table(
                    "Messages per week by role (latest weeks)",
                    await _rows(analytics.message_activity("week"), latest=True),
                )
            )
            out.print(
                _table(
                    "Document churn per week (latest weeks)",
                    await _rows(analytics.document_churn("week"), 6, latest=True),
                    6,
                )
            )
            out.print(
                _table(
                    "CI/CD health per project, last 30 days: builds and the DORA metrics",
                    sorted(
                        await analytics.cicd_health("project").rows(),
                        key=lambda row: (-row["deployments"], row["name"]),
                    ),
                    columns={
                        "name": "project",
                        "success_rate": "green builds",
                        "deployments": "deploys",
                        "deploys_per_day": "per day",
                        "median_lead_time_seconds": "lead time",
                        "change_failure_rate": "failed",
                        "median_time_to_restore_seconds": "restore",
                    },
                )
            )
            out.print(_table("Largest documents", await _rows(analytics.largest_documents(5)), 5))
            out.print(
                _table(
                    "Most active projects, last 30 days",
                    await _rows(analytics.most_active_projects(5, days=30)),
                    5,
                )
            )
            out.print("4. full-text search (BM25)")
            db.search.markers = SNIPPET_MARKERS  # unambiguous: documents are full of `**`
            for text in _SEARCHES:
                hits = await db.search.documents(text, limit=3)
                rows = [
                    {"score": hit.score, "path": hit.path, "snippet": highlighted(hit.snippet)}
                    for hit in hits
                ]
                out.print(_table(f"documents matching {text!r}", rows, 3))
            replies = await db.search.messages(_MESSAGE_SEARCH, limit=3)
            rows = [
                {"score": hit.score, "role": hit.role, "snippet": highlighted(hit.snippet)}
                for hit in replies
            ]
            out.print(_table(f"messages matching {_MESSAGE_SEARCH!r}", rows, 3))
        await show_semantic_search(out, _table)
        out.rule(f"done in {time.perf_counter() - started:.1f} s: {escape(str(database))}")

    run(main)
