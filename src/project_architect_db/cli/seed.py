"""``project-architect-db seed``: fill a database with realistic, deterministic data fast.

Data comes from the Arrow generator of :mod:`project_architect_db.datagen` in batches
(``generate_batches``: blocks of projects with all their children, about half a million rows
each), and goes in with one ``INSERT ... SELECT`` per slice. Only one batch is in memory at a
time. Each batch commits on its own, together with the seed-progress marker
(``cli/_seed_progress.py``): a seed stopped midway (Ctrl-C, an error, a crash) leaves its
first batches and a marker that says so; ``seed`` run again with the same arguments resumes
after them, and ``db-reset`` empties the file. A seed of one batch (every preset but
``xlarge`` and ``scale``) is one transaction: all or nothing. One COMMIT for the whole
``scale`` preset (19M rows) needed memory that grows with the load and failed under a 2 GB
``memory_limit`` (docs/performance.md, "Memory at 1M rows (session 10)").
"""

from __future__ import annotations

import enum
import functools
import sys
import time
from pathlib import Path
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
from project_architect_db.cli._seed_progress import SeedPlan, read_plan, write_plan
from project_architect_db.core._worker import to_thread

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from project_architect_db import Database
    from project_architect_db.datagen import Dataset

__all__ = ["PRESETS", "Preset", "SeedPlan", "expected_rows", "seed", "seed_database"]

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
    plan: SeedPlan | None = None,
    on_commit: Callable[[SeedPlan], None] | None = None,
) -> int:
    """Insert ``dataset`` (or its batches), slice by slice; return the rows inserted.

    Batches are made one at a time, off the event loop, and each is dropped once loaded:
    memory follows one batch. Without ``plan`` everything goes in one transaction: an error
    or a cancellation in any batch rolls everything back. With ``plan`` (the seed the batches
    come from, and how many of its batches are already in) each batch commits on its own with
    the seed-progress marker updated to count it (``on_commit`` is told the new plan); the last
    one drops the marker. An error or a cancellation then rolls back the batch being loaded
    only, and the marker says how far the seed got. ``search_index``: rebuild the full-text
    indexes afterwards (else the first search does).
    """
    from project_architect_db.datagen import Dataset

    batches = iter((dataset,) if isinstance(dataset, Dataset) else dataset)
    written = 0
    if plan is None:
        async with db.transaction() as tx:
            # the next batch is made once the previous one is loaded and gone
            while (batch := await to_thread(next, batches, None)) is not None:
                written += await _load(tx, batch, progress, task)
                del batch
                _describe(progress, task, "generating")
            _end(progress, task, written)
    else:
        while (batch := await to_thread(next, batches, None)) is not None:
            async with db.transaction() as tx:
                rows = await _load(tx, batch, progress, task)
                del batch
                done = plan.after(rows)
                if done.finished:
                    _end(progress, task, written + rows)
                else:
                    _describe(progress, task, "committing")
                await tx.run_native(functools.partial(write_plan, plan=done))
            plan, written = done, written + rows
            if on_commit is not None:
                on_commit(plan)
            _describe(progress, task, "generating")
    if search_index:
        # the rows went in natively: rebuild the full-text indexes so search sees them at once
        await db.search.rebuild()
    return written


def _describe(progress: Any, task: Any, description: str) -> None:
    if progress is not None:
        progress.update(task, description=description)


def _end(progress: Any, task: Any, written: int) -> None:
    if progress is not None:
        # the total was an estimate (attachments are drawn): the bar ends full
        progress.update(task, total=written, completed=written, description="committing")


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


def _plan(seed_value: int, preset: Preset, sizes: dict[str, Any]) -> SeedPlan:
    """A new seed's plan: its batches, dated from the start of today."""
    from project_architect_db.datagen import batch_count, start_of_day

    per_batch = _projects_per_batch(sizes)
    return SeedPlan(
        seed=seed_value,
        preset=preset.value,
        sizes=sizes,
        now=start_of_day(),
        projects_per_batch=per_batch,
        batches=batch_count(sizes.get("projects", 20), per_batch),
    )


def _projects_per_batch(sizes: dict[str, Any]) -> int:
    from project_architect_db.datagen import default_projects_per_batch

    return default_projects_per_batch(sizes)  # type: ignore[arg-type]


class _SeedState:
    """How far a ``seed`` run got: read after it stops, to say what the file holds."""

    __slots__ = ("plan", "resumed")

    def __init__(self) -> None:
        self.plan: SeedPlan | None = None
        self.resumed: SeedPlan | None = None

    def committed(self, plan: SeedPlan) -> None:
        self.plan = plan


def plan_on_file(database: str, known: SeedPlan | None) -> SeedPlan | None:
    """The plan a stopped seed left in ``database``'s marker, or ``known`` if it cannot be read.

    A Ctrl-C can land after a batch's COMMIT and before ``on_commit`` records it in memory; the
    marker is written in the batch's own transaction, so the file says what it holds. No marker
    means nothing was committed or the seed finished (both need no resume advice).
    """
    import duckdb

    if not Path(database).is_file():
        return known
    try:
        with duckdb.connect(database, read_only=True) as duck:
            return read_plan(duck)
    except duckdb.Error:
        return known


def _stopped_message(database: str, plan: SeedPlan) -> str:
    return (
        f"the seed stopped after committing {plan.describe()}; {database} holds those batches "
        f"and a marker saying so. Run the same command again to resume after them "
        f"(`project-architect-db seed --database {database} --preset {plan.preset} --seed "
        f"{plan.seed}`), or empty the database with `project-architect-db db-reset "
        f"--database {database}`."
    )


def seed(
    database: DatabaseOption = "architect.duckdb",
    preset: Annotated[Preset, typer.Option(help="How much data.")] = Preset.SMALL,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.", min=0)] = 42,
    memory_limit: Annotated[
        str,
        typer.Option(
            help="DuckDB's memory limit while seeding (generation adds about one batch, "
            "~0.5 GB): each batch is one transaction, and DuckDB keeps what it has not "
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

    Large presets commit batch by batch: a seed stopped midway says so, and the same
    command resumes it.

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
    state = _SeedState()

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
            async with db.transaction() as tx:
                stopped = await tx.run_native(read_plan)
            plan = _plan(seed_value, preset, sizes)
            if stopped is not None:
                if not stopped.same_seed(plan):
                    raise AlreadyExistsError(
                        f"{database} holds a seed that stopped midway ({stopped.describe()} "
                        f"committed), so nothing was added. Finish it with `project-architect-db "
                        f"seed --database {database} --preset {stopped.preset} --seed "
                        f"{stopped.seed}`, or empty the database with `project-architect-db "
                        f"db-reset --database {database}` and seed again."
                    )
                plan = state.resumed = stopped
                out.print(f"resuming {stopped.describe()} already committed")
            state.plan = plan
            batches = generate_batches(
                seed_value,
                **sizes,
                now=plan.now,
                projects_per_batch=plan.projects_per_batch,
                first_batch=plan.done,
            )
            with Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=out,
                transient=as_json,
                auto_refresh=out.is_terminal,
            ) as progress:
                left = max(1, expected_rows(sizes) - plan.rows)
                task = progress.add_task("generating", total=left)
                started = time.perf_counter()
                try:
                    await seed_database(
                        db,
                        counted(batches),
                        progress,
                        task,
                        search_index=index,
                        plan=plan,
                        on_commit=state.committed,
                    )
                except AlreadyExistsError as error:
                    if state.plan.done == 0:  # its first batch was rolled back: nothing is in
                        raise AlreadyExistsError(
                            f"{database} already holds rows that seed {seed_value} generates "
                            f"({preset.value}), so nothing was added (the database is "
                            f"unchanged). Seed other rows with a different `--seed N`, or empty "
                            f"the database first with `project-architect-db db-reset "
                            f"--database {database}`."
                        ) from error
                    raise AlreadyExistsError(
                        f"{database} already holds rows that batch {state.plan.done + 1} of "
                        f"seed {seed_value} ({preset.value}) generates: that batch was not "
                        f"added. Empty the database with `project-architect-db db-reset "
                        f"--database {database}` and seed again."
                    ) from error
                seconds = time.perf_counter() - started
        return counts, seconds

    try:
        counts, seconds = run(main)
    except typer.Exit as stop:
        known = state.plan if stop.exit_code else None
        plan = None if known is None else plan_on_file(database, known)
        if plan is not None and plan.done and not plan.finished:
            # plain write, as run()'s own Ctrl-C message
            sys.stderr.write(_stopped_message(database, plan) + "\n")
        raise
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
        "resumed": None if state.resumed is None else state.resumed.describe(),
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
