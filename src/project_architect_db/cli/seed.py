"""``project-architect-db seed``: fill a database with realistic, deterministic data fast.

Data comes from the Arrow generator of :mod:`project_architect_db.datagen` and goes in
with one ``INSERT ... SELECT`` per slice, all in one transaction: Ctrl-C (or any error) leaves
the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import enum
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

if TYPE_CHECKING:
    from project_architect_db import Database
    from project_architect_db.datagen import Dataset

__all__ = ["PRESETS", "Preset", "seed", "seed_database"]

_SLICE = 100_000


class Preset(enum.StrEnum):
    """Dataset sizes, from a quick look to the benchmark scale."""

    TINY = "tiny"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    XLARGE = "xlarge"


PRESETS: dict[Preset, dict[str, int]] = {
    Preset.TINY: {"projects": 5, "conversations_per_project": 2, "messages_per_conversation": 10},
    Preset.SMALL: {"projects": 50},
    Preset.MEDIUM: {"projects": 500, "conversations_per_project": 4},
    Preset.LARGE: {"projects": 2_000, "conversations_per_project": 10},
    Preset.XLARGE: {},  # BENCHMARK_SIZES: 2M messages, 1M builds
}


def _sizes(preset: Preset) -> dict[str, Any]:
    from project_architect_db.datagen import BENCHMARK_SIZES

    if preset is Preset.XLARGE:
        return dict(BENCHMARK_SIZES)
    return dict(PRESETS[preset])


async def seed_database(
    db: Database, dataset: Dataset, progress: Any = None, task: Any = None
) -> int:
    """Insert ``dataset`` in one transaction, slice by slice; return the rows written."""
    written = 0
    async with db.transaction() as tx:
        for name, table in dataset.tables.items():
            for offset in range(0, table.num_rows, _SLICE):
                part = table.slice(offset, _SLICE)

                def insert(duck: Any, part: Any = part, name: str = name) -> None:
                    view = f"padb_seed_{name}"
                    duck.register(view, part)
                    try:
                        duck.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
                    finally:
                        duck.unregister(view)

                await tx.run_native(insert)
                written += part.num_rows
                if progress is not None:
                    progress.update(task, advance=part.num_rows, description=f"loading {name}")
        if progress is not None:
            progress.update(task, description="committing")
    # the rows went in natively: rebuild the full-text indexes so search sees them at once
    await db.search.rebuild()
    return written


def seed(
    database: DatabaseOption = "architect.duckdb",
    preset: Annotated[Preset, typer.Option(help="How much data.")] = Preset.SMALL,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.", min=0)] = 42,
    as_json: JsonOption = False,
) -> None:
    """Fill the database with realistic generated data (projects, chats, docs, CI/CD).

    Example: project-architect-db seed --database architect.duckdb --preset medium --seed 7
    """
    require_file(database)
    refuse_empty_file(database)
    from project_architect_db import Database
    from project_architect_db.datagen import generate_dataset
    from project_architect_db.exceptions import AlreadyExistsError

    out = console(stderr=as_json)

    async def main() -> tuple[dict[str, int], float, float]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        await require_schema(database)
        started = time.perf_counter()
        # a live display refreshes from a thread of its own: only where someone watches it
        # (a thread that ends can hang a traced interpreter; docs/reliability.md)
        status = f"generating the {preset.value} dataset (seed {seed_value})"
        with out.status(status) if out.is_terminal else contextlib.nullcontext():
            dataset = generate_dataset(seed_value, **_sizes(preset))
        generated = time.perf_counter() - started
        counts = dataset.row_counts()
        async with Database.open(database) as db:
            with Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=out,
                transient=as_json,
                auto_refresh=out.is_terminal,
            ) as progress:
                task = progress.add_task("loading", total=sum(counts.values()))
                loading = time.perf_counter()
                try:
                    await seed_database(db, dataset, progress, task)
                except AlreadyExistsError as error:
                    # one transaction: the rows inserted before the clash were rolled back
                    raise AlreadyExistsError(
                        f"{database} already holds rows that seed {seed_value} generates "
                        f"({preset.value}), so nothing was added (the database is unchanged). Seed "
                        f"other rows with a different `--seed N`, or empty the database first "
                        f"with `project-architect-db db-reset --database {database}`."
                    ) from error
                loaded = time.perf_counter() - loading
        return counts, generated, loaded

    counts, generated, loaded = run(main)
    total = sum(counts.values())
    summary = {
        "database": database,
        "preset": preset.value,
        "seed": seed_value,
        "rows": counts,
        "total_rows": total,
        "generate_seconds": round(generated, 3),
        "load_seconds": round(loaded, 3),
        "rows_per_second": round(total / loaded) if loaded else None,
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
        f"{total:,} rows: generated in {generated:.2f} s, loaded in {loaded:.2f} s "
        f"([bold]{summary['rows_per_second']:,} rows/s[/])"
    )
