"""``project-architect-db seed``: fill a database with realistic, deterministic data fast.

Data comes from the Arrow generator of :mod:`project_architect_db.datagen` in batches
(``generate_batches``: blocks of projects with all their children, about a million rows
each), and goes in with one ``INSERT ... SELECT`` per slice, all in one transaction: Ctrl-C
(or any error) leaves the database exactly as it was. Only one batch is in memory at a time,
so the ``scale`` preset (10M messages) loads in under 3 GB; its one final COMMIT still needs
memory that grows with the whole load and failed under the 2GB limit (docs/performance.md,
"Memory at 1M rows (session 9)").
"""

from __future__ import annotations

import enum
import functools
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from project_architect_db.cli._common import (
    DatabaseOption,
    JsonOption,
    console,
    print_json,
    refuse_empty_file,
    require_file,
    require_schema,
    run,
)
from project_architect_db.core._worker import to_thread

if TYPE_CHECKING:
    from collections.abc import Iterable

    from project_architect_db import Database
    from project_architect_db.datagen import Dataset

__all__ = ["PRESETS", "Preset", "expected_rows", "seed", "seed_database"]

_SLICE = 100_000


class Preset(enum.StrEnum):
    """Dataset sizes, from a quick look to the benchmark scale."""

    TINY = "tiny"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    XLARGE = "xlarge"
    SCALE = "scale"


PRESETS: dict[Preset, dict[str, int]] = {
    Preset.TINY: {"projects": 5, "conversations_per_project": 2, "messages_per_conversation": 10},
    Preset.SMALL: {"projects": 50},
    Preset.MEDIUM: {"projects": 500, "conversations_per_project": 4},
    Preset.LARGE: {"projects": 2_000, "conversations_per_project": 10},
    Preset.XLARGE: {},  # BENCHMARK_SIZES: 2M messages, 1M builds
    Preset.SCALE: {},  # SCALE_SIZES: 1M projects, 10M messages, 3M builds (issue 13)
}


def _sizes(preset: Preset) -> dict[str, Any]:
    from project_architect_db.datagen import BENCHMARK_SIZES, SCALE_SIZES

    if preset is Preset.XLARGE:
        return dict(BENCHMARK_SIZES)
    if preset is Preset.SCALE:
        return dict(SCALE_SIZES)
    return dict(PRESETS[preset])


def expected_rows(sizes: dict[str, Any]) -> int:
    """About how many rows a dataset of ``sizes`` holds (attachments are drawn: estimated)."""
    from project_architect_db.datagen import rows_per_project

    projects: int = sizes.get("projects", 20)
    return round(projects * rows_per_project(sizes))  # type: ignore[arg-type]


async def seed_database(
    db: Database,
    dataset: Dataset | Iterable[Dataset],
    progress: Any = None,
    task: Any = None,
    *,
    search_index: bool = True,
) -> int:
    """Insert ``dataset`` (or its batches) in one transaction, slice by slice; return the rows.

    Batches are made one at a time, off the event loop, and each is dropped once loaded:
    memory follows one batch. An error or a cancellation in any batch rolls everything back.
    ``search_index``: rebuild the full-text indexes afterwards (else the first search does).
    """
    from project_architect_db.datagen import Dataset

    batches = iter((dataset,) if isinstance(dataset, Dataset) else dataset)
    written = 0
    async with db.transaction() as tx:
        # the next batch is made once the previous one is loaded and gone
        while (batch := await to_thread(next, batches, None)) is not None:
            written += await _load(tx, batch, progress, task)
            del batch
            if progress is not None:
                progress.update(task, description="generating")
        if progress is not None:
            # the total was an estimate (attachments are drawn): the bar ends full
            progress.update(task, total=written, completed=written, description="committing")
    if search_index:
        # the rows went in natively: rebuild the full-text indexes so search sees them at once
        await db.search.rebuild()
    return written


async def _load(tx: Any, batch: Dataset, progress: Any, task: Any) -> int:
    from project_architect_db.datagen._dataset import insert_arrow

    written = 0
    for name, table in batch.tables.items():
        for offset in range(0, table.num_rows, _SLICE):
            part = table.slice(offset, _SLICE)
            await tx.run_native(functools.partial(insert_arrow, name=name, rows=part))
            written += part.num_rows
            if progress is not None:
                progress.update(task, advance=part.num_rows, description=f"loading {name}")
    return written


def seed(
    database: DatabaseOption = "architect.duckdb",
    preset: Annotated[Preset, typer.Option(help="How much data.")] = Preset.SMALL,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.", min=0)] = 42,
    memory_limit: Annotated[
        str,
        typer.Option(
            help="DuckDB's memory limit while seeding (generation adds about one batch, "
            "~0.5 GB): the load is one transaction, and DuckDB keeps what it has not "
            "committed in memory up to this limit, then writes it out.",
        ),
    ] = "2GB",
    search_index: Annotated[
        bool | None,
        typer.Option(
            "--search-index/--no-search-index",
            help="Build the full-text indexes after loading (default: yes, except for the "
            "scale preset, whose first search builds them).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fill the database with realistic generated data (projects, chats, docs, CI/CD).

    Example: project-architect-db seed --database architect.duckdb --preset medium --seed 7
    """
    require_file(database)
    refuse_empty_file(database)
    from project_architect_db import Database
    from project_architect_db.datagen import generate_batches
    from project_architect_db.exceptions import AlreadyExistsError

    out = console(stderr=as_json)
    sizes = _sizes(preset)
    # at the scale preset the index build takes minutes and GBs of its own (issue 13): the
    # seed stays in bounded memory and leaves it to the first search
    index = preset is not Preset.SCALE if search_index is None else search_index

    async def main() -> tuple[dict[str, int], float]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        await require_schema(database)
        counts: dict[str, int] = {}

        def counted(batches: Iterable[Dataset]) -> Iterable[Dataset]:
            for batch in batches:
                for name, rows in batch.row_counts().items():
                    counts[name] = counts.get(name, 0) + rows
                yield batch

        async with Database.open(database, memory_limit=memory_limit) as db:
            with Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=out,
                transient=as_json,
                auto_refresh=out.is_terminal,
            ) as progress:
                task = progress.add_task("generating", total=expected_rows(sizes))
                started = time.perf_counter()
                try:
                    await seed_database(
                        db,
                        counted(generate_batches(seed_value, **sizes)),
                        progress,
                        task,
                        search_index=index,
                    )
                except AlreadyExistsError as error:
                    # one transaction: the rows inserted before the clash were rolled back
                    raise AlreadyExistsError(
                        f"{database} already holds rows that seed {seed_value} generates "
                        f"({preset.value}), so nothing was added (the database is unchanged). Seed "
                        f"other rows with a different `--seed N`, or empty the database first "
                        f"with `project-architect-db db-reset --database {database}`."
                    ) from error
                seconds = time.perf_counter() - started
        return counts, seconds

    counts, seconds = run(main)
    total = sum(counts.values())
    summary = {
        "database": database,
        "preset": preset.value,
        "seed": seed_value,
        "rows": counts,
        "total_rows": total,
        "seconds": round(seconds, 3),
        "rows_per_second": round(total / seconds) if seconds else None,
        "search_index": "built" if index else "built by the first search",
    }
    if as_json:
        print_json(summary)
        return
    from rich.table import Table

    table = Table("table", "rows", title=f"Seeded {database} ({preset.value}, seed {seed_value})")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    out.print(table)
    out.print(
        f"{total:,} rows generated and loaded in {seconds:.2f} s "
        f"([bold]{summary['rows_per_second']:,} rows/s[/]); search indexes "
        f"{summary['search_index']}"
    )
